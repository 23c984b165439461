package rotation

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// Scheduler starts due rotations: scheduled ones whose window has opened,
// and in-progress ones whose retry is due or whose server stopped (lease
// expired). Several servers may run a scheduler on one database; the
// store's conditional UPDATEs let exactly one of them start each scheduled
// occurrence and run each rotation at a time.
type Scheduler struct {
	Engine *Engine
	Store  store.Rotation
	Logger *slog.Logger
	// Interval between scans; zero means 30 seconds.
	Interval time.Duration
	// Batch bounds the rotations started per scan; zero means 50.
	Batch int
}

// Run scans until ctx is done, then waits for the rotations it started.
func (s *Scheduler) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.Engine.bind(ctx)
	defer s.Engine.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Scan(ctx); err != nil && ctx.Err() == nil {
			log.Warn("rotation scheduler scan", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan starts the rotations due now and returns; they run in the
// background on the engine.
func (s *Scheduler) Scan(ctx context.Context) error {
	batch := s.Batch
	if batch <= 0 {
		batch = 50
	}
	// Take no more leases than this server can start running now: a lease
	// held while waiting for a free slot could expire and let another
	// server run the same step at the same time.
	batch = min(batch, s.Engine.free())
	if batch <= 0 {
		return nil
	}
	due, err := s.Store.DueRotations(ctx, s.Engine.now(), batch)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range due {
		var err error
		if d.Token != "" {
			err = s.Engine.Resume(ctx, d.SecretARN, d.Token)
		} else {
			err = s.Engine.Begin(ctx, d.SecretARN, newToken(), d.ScheduledFor)
		}
		// Losing a race to another server is the normal case, not an error.
		if err != nil && !errors.Is(err, store.ErrLeaseHeld) && !errors.Is(err, store.ErrAlreadyScheduled) &&
			!errors.Is(err, store.ErrRotationInProgress) && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
