package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/bulwark-security/bulwark/internal/store"
)

// Problem kinds a verification reports.
const (
	Altered   = "altered"
	Deleted   = "deleted"
	Inserted  = "inserted"
	Reordered = "reordered"
	BadDigest = "digest"
)

// Problem is one integrity failure, naming the record (chain and seq, and
// its eventID when the record exists).
type Problem struct {
	Kind    string `json:"kind"`
	ChainID string `json:"chainId,omitempty"`
	Seq     int64  `json:"seq,omitempty"`
	EventID string `json:"eventId,omitempty"`
	Digest  int64  `json:"digest,omitempty"`
	Detail  string `json:"detail"`
}

func (p Problem) String() string {
	s := p.Kind
	if p.ChainID != "" {
		s += fmt.Sprintf(" chain %s", p.ChainID)
	}
	if p.Seq != 0 {
		s += fmt.Sprintf(" record %d", p.Seq)
	}
	if p.EventID != "" {
		s += fmt.Sprintf(" (eventID %s)", p.EventID)
	}
	if p.Digest != 0 {
		s += fmt.Sprintf(" digest %d", p.Digest)
	}
	return s + ": " + p.Detail
}

// Report is the result of Verify. OK is true when there are no problems;
// Unsigned lists, per chain, the records after the last digest (chained
// but not yet signed: normal for a running server).
type Report struct {
	Chains   int              `json:"chains"`
	Records  int64            `json:"records"`
	Digests  int64            `json:"digests"`
	Problems []Problem        `json:"problems"`
	Unsigned map[string]int64 `json:"unsigned,omitempty"`
	// Journaled counts records a server's journal holds that the store
	// lacks (set by the caller, see InspectJournals): a running server
	// stores them within moments, a stopped one at its next start.
	Journaled int `json:"journaled,omitempty"`
}

// OK reports whether the trail verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

type row struct {
	seq        int64
	eventID    string
	prev, hash []byte
	selfOK     bool
}

type chainDigests struct {
	covers  []DigestBody // periodic and shutdown digests
	anchors map[int64][]byte
	maxAnc  int64
}

// Verify checks the whole trail: every digest's signature (with pub) and
// link to its predecessor, every record's hash and its place in its chain,
// the lookup columns against the record, and every digest's head against
// the records. It returns an error only when the store cannot be read.
func Verify(ctx context.Context, st store.Audit, pub ed25519.PublicKey) (*Report, error) {
	rep := &Report{Unsigned: map[string]int64{}}
	byChain := map[string]*chainDigests{}
	var prevSeq int64
	var prevLink string
	err := st.ScanAuditDigests(ctx, func(d store.AuditDigest) error {
		rep.Digests++
		bad := func(detail string) {
			rep.Problems = append(rep.Problems, Problem{Kind: BadDigest, ChainID: d.ChainID, Digest: d.Seq, Detail: detail})
		}
		if d.Seq != prevSeq+1 {
			bad(fmt.Sprintf("digests %d..%d are missing", prevSeq+1, d.Seq-1))
		}
		link := DigestLink(d.Body, d.Signature)
		defer func() { prevSeq, prevLink = d.Seq, link }()
		if !verifyDigestSig(pub, d.Body, d.Signature) {
			bad("signature does not verify with the audit public key")
			return nil
		}
		var b DigestBody
		if err := json.Unmarshal(d.Body, &b); err != nil {
			bad("body is not a digest: " + err.Error())
			return nil
		}
		if b.Seq != d.Seq || b.ChainID != d.ChainID {
			bad(fmt.Sprintf("signed body names digest %d of chain %s", b.Seq, b.ChainID))
		}
		if d.Seq == prevSeq+1 && b.PreviousDigestHash != prevLink {
			bad("does not link to the previous digest (a digest was altered, deleted or inserted)")
		}
		cd := byChain[b.ChainID]
		if cd == nil {
			cd = &chainDigests{anchors: map[int64][]byte{}}
			byChain[b.ChainID] = cd
		}
		switch b.Kind {
		case DigestRetention:
			h, err := hex.DecodeString(b.AnchorPrevHash)
			if err != nil || b.AnchorSeq < 1 {
				bad("malformed retention anchor")
				return nil
			}
			cd.anchors[b.AnchorSeq] = h
			cd.maxAnc = max(cd.maxAnc, b.AnchorSeq)
		case DigestPeriodic, DigestShutdown:
			cd.covers = append(cd.covers, b)
		default:
			bad(fmt.Sprintf("unknown digest kind %q", b.Kind))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read digests: %w", err)
	}
	chains, err := st.AuditChains(ctx)
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	seen := map[string]bool{}
	for _, c := range chains {
		seen[c] = true
		cd := byChain[c]
		if cd == nil {
			cd = &chainDigests{anchors: map[int64][]byte{}}
		}
		if err := verifyChain(ctx, st, c, cd, rep); err != nil {
			return nil, err
		}
	}
	rep.Chains = len(chains)
	// A chain with digests but no records lost them all, unless retention
	// deleted them.
	ids := make([]string, 0, len(byChain))
	for c := range byChain {
		ids = append(ids, c)
	}
	sort.Strings(ids)
	for _, c := range ids {
		cd := byChain[c]
		if seen[c] || len(cd.covers) == 0 {
			continue
		}
		last := cd.covers[len(cd.covers)-1]
		if cd.maxAnc > last.LastSeq {
			continue
		}
		rep.Problems = append(rep.Problems, Problem{Kind: Deleted, ChainID: c, Seq: max(cd.maxAnc, 1),
			Detail: fmt.Sprintf("every record of the chain is missing; signed digest %d covers records up to %d", last.Seq, last.LastSeq)})
	}
	return rep, nil
}

func verifyChain(ctx context.Context, st store.Audit, chainID string, cd *chainDigests, rep *Report) error {
	var rows []row
	problem := func(kind string, seq int64, eventID, detail string) {
		rep.Problems = append(rep.Problems, Problem{Kind: kind, ChainID: chainID, Seq: seq, EventID: eventID, Detail: detail})
	}
	err := st.ScanAuditChain(ctx, chainID, 0, func(r store.AuditRecord) error {
		rep.Records++
		sum := RecordDigest(r.Record)
		rw := row{seq: r.Seq, eventID: r.EventID, prev: bytes.Clone(r.PrevHash), hash: bytes.Clone(r.Hash)}
		rw.selfOK = bytes.Equal(ChainHash(r.PrevHash, sum), r.Hash)
		if !rw.selfOK {
			problem(Altered, r.Seq, r.EventID, "the record's contents do not match its hash")
		} else if detail := checkColumns(&r); detail != "" {
			problem(Altered, r.Seq, r.EventID, detail)
		}
		rows = append(rows, rw)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read chain %s: %w", chainID, err)
	}
	if len(rows) == 0 {
		return nil
	}
	classifyLinks(chainID, rows, cd, problem)

	// Every digest's head must still be there, unchanged (where it is
	// stored is the link walk's business).
	bySeq := make(map[int64]int, len(rows))
	byHash := make(map[string]bool, len(rows))
	for i, r := range rows {
		bySeq[r.seq] = i
		byHash[hex.EncodeToString(r.hash)] = true
	}
	lastRow := rows[len(rows)-1].seq
	var signedTo int64
	for _, b := range cd.covers {
		signedTo = max(signedTo, b.LastSeq)
		if b.LastSeq < cd.maxAnc || byHash[b.LastHash] {
			continue // deleted by retention, or intact
		}
		i, ok := bySeq[b.LastSeq]
		switch {
		case !ok && b.LastSeq > lastRow:
			problem(Deleted, b.LastSeq, "", fmt.Sprintf("records %d..%d are missing from the end of the chain; signed digest %d covers them", lastRow+1, b.LastSeq, b.Seq))
		case !ok:
			problem(Deleted, b.LastSeq, "", fmt.Sprintf("the record signed by digest %d is missing", b.Seq))
		default:
			problem(Altered, b.LastSeq, rows[i].eventID, fmt.Sprintf("the record's hash differs from the one signed by digest %d (the chain was rewritten)", b.Seq))
		}
	}
	if lastRow > signedTo {
		rep.Unsigned[chainID] = lastRow - max(signedTo, rows[0].seq-1)
	}
	return nil
}

// classifyLinks walks the chain by its hash links and reports where the
// stored order departs from it: records missing from the walk (deleted),
// records no link leads to (inserted), records whose seq is not their place
// in the walk (reordered), and links broken by a rewritten hash (altered).
func classifyLinks(chainID string, rows []row, cd *chainDigests, problem func(kind string, seq int64, eventID, detail string)) {
	succ := make(map[string][]int, len(rows))
	isHash := make(map[string]bool, len(rows))
	for i, r := range rows {
		succ[string(r.prev)] = append(succ[string(r.prev)], i)
		isHash[string(r.hash)] = true
	}
	visited := make([]bool, len(rows))
	nVisited := 0
	var walk []int
	inserted := map[int64]bool{}
	var exp int64

	// Where the chain starts: the genesis, or a retention anchor.
	first := rows[0]
	var start []byte
	switch {
	case first.seq == 1:
		start = Genesis(chainID)
	case cd.anchors[first.seq] != nil:
		start = cd.anchors[first.seq]
	case cd.maxAnc > first.seq:
		// Retention has not finished deleting up to its newest anchor.
	default:
		// Retention may delete up to its newest anchor, nothing more.
		from := max(cd.maxAnc, 1)
		problem(Deleted, from, "", fmt.Sprintf("records %d..%d are missing from the start of the chain", from, first.seq-1))
	}
	take := func(i int) {
		visited[i] = true
		nVisited++
		walk = append(walk, i)
	}
	cur := start
	lastSeq := first.seq - 1
	if start == nil {
		take(0)
		cur, lastSeq = rows[0].hash, rows[0].seq
	}
	for nVisited < len(rows) {
		var cands []int
		for _, i := range succ[string(cur)] {
			if !visited[i] {
				cands = append(cands, i)
			}
		}
		if len(cands) > 1 {
			// A fork: the genuine successor is the one the chain goes on
			// from (or the one with the lowest seq); the others were
			// inserted.
			slices.SortFunc(cands, func(a, b int) int {
				ca, cb := len(succ[string(rows[a].hash)]) > 0, len(succ[string(rows[b].hash)]) > 0
				if ca != cb {
					if ca {
						return -1
					}
					return 1
				}
				return int(rows[a].seq - rows[b].seq)
			})
			for _, i := range cands[1:] {
				visited[i] = true
				nVisited++
				inserted[rows[i].seq] = true
				problem(Inserted, rows[i].seq, rows[i].eventID, "the record is not part of the chain: another record already follows its predecessor")
			}
			cands = cands[:1]
		}
		if len(cands) == 1 {
			i := cands[0]
			take(i)
			cur, lastSeq = rows[i].hash, rows[i].seq
			continue
		}
		// The walk broke. Resume at the unvisited record with the lowest
		// seq that starts a fragment (its predecessor is not stored).
		next := -1
		for i := range rows {
			if !visited[i] && !isHash[string(rows[i].prev)] && (next < 0 || rows[i].seq < rows[next].seq) {
				next = i
			}
		}
		if next < 0 {
			for i := range rows {
				if !visited[i] {
					next = i
					break
				}
			}
		}
		r := rows[next]
		lonely := len(succ[string(r.hash)]) == 0 && next != len(rows)-1
		switch {
		case lonely && !isHash[string(r.prev)] && r.seq < lastSeq+1:
			visited[next] = true
			nVisited++
			inserted[r.seq] = true
			problem(Inserted, r.seq, r.eventID, "the record is not part of the chain: nothing links to it")
			continue
		case r.seq > lastSeq+1:
			if r.seq == lastSeq+2 {
				problem(Deleted, lastSeq+1, "", fmt.Sprintf("record %d is missing: record %d does not link to record %d", lastSeq+1, r.seq, lastSeq))
			} else {
				problem(Deleted, lastSeq+1, "", fmt.Sprintf("records %d..%d are missing: record %d does not link to record %d", lastSeq+1, r.seq-1, r.seq, lastSeq))
			}
		case lonely:
			visited[next] = true
			nVisited++
			inserted[r.seq] = true
			problem(Inserted, r.seq, r.eventID, "the record is not part of the chain: nothing links to it")
			continue
		case len(walk) > 0:
			w := rows[walk[len(walk)-1]]
			if w.selfOK {
				problem(Altered, w.seq, w.eventID, fmt.Sprintf("record %d does not link to it: it was rewritten (hash recomputed) or the records after it replaced", r.seq))
			}
		}
		take(next)
		cur, lastSeq = r.hash, r.seq
	}
	// Places: along the walk, each record must have the seq after the one
	// before it (skipping seqs taken by inserted records), except where a
	// fragment starts.
	for k := 1; k < len(walk); k++ {
		a, b := rows[walk[k-1]], rows[walk[k]]
		if !bytes.Equal(b.prev, a.hash) {
			exp = b.seq // a fragment start, reported above
			continue
		}
		if k == 1 {
			exp = a.seq
		}
		exp++
		for inserted[exp] {
			exp++
		}
		if b.seq != exp {
			problem(Reordered, b.seq, b.eventID, fmt.Sprintf("the record is stored as record %d but belongs at %d (it was written right after the record stored as %d)", b.seq, exp, a.seq))
		}
	}
}

// checkColumns compares the lookup columns with the record they index.
func checkColumns(r *store.AuditRecord) string {
	e, err := DecodeRecord(r.Record)
	if err != nil {
		return "the record is not a valid CloudTrail record: " + err.Error()
	}
	want := indexOf(e)
	switch {
	case want.EventID != r.EventID:
		return "column event_id differs from the record's eventID"
	case want.AccountID != r.AccountID:
		return "column account_id differs from the record's recipientAccountId"
	case !want.EventTime.Equal(r.EventTime):
		return "column event_time differs from the record's eventTime"
	case want.EventName != r.EventName:
		return "column event_name differs from the record's eventName"
	case want.EventSource != r.EventSource:
		return "column event_source differs from the record's eventSource"
	case want.ReadOnly != r.ReadOnly:
		return "column read_only differs from the record's readOnly"
	case want.Username != r.Username:
		return "column username differs from the record's userIdentity"
	case want.AccessKeyID != r.AccessKeyID:
		return "column access_key_id differs from the record's accessKeyId"
	}
	return ""
}
