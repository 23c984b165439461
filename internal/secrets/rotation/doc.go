// Package rotation is Secrets Manager's secret rotation: the RotateSecret
// and CancelRotateSecret actions, the rotation state machine that runs a
// rotator through AWS's four Lambda steps (createSecret, setSecret,
// testSecret, finishSecret), the scheduler that starts due rotations
// exactly once across servers sharing a database, and two kinds of rotator:
// a signed HTTPS webhook addressed by a Lambda function ARN, and a built-in
// PostgreSQL rotator (single user and alternating users).
//
// A rotation is a row of the store's rotation part (store.Rotation): its
// ClientRequestToken (the new version's id), the next step, and a lease.
// Whoever runs a rotation holds the lease; every step it completes is
// recorded with a conditional UPDATE naming the lease owner, so a server
// whose lease was taken over stops at its next step. A failed step is
// recorded (message, step, time) and retried later with the same token from
// that step; rotators' steps are idempotent, as AWS requires of rotation
// Lambdas. AWSCURRENT only ever moves in finishSecret, and the engine checks
// afterwards that it did, so a failure leaves the current version in place.
//
// The scheduler asks the store for due rotations (windows that opened,
// retries that are due, leases that expired) and begins each; beginning a
// scheduled rotation records the occurrence it is for, so a second server
// that listed the same occurrence cannot start it again.
package rotation
