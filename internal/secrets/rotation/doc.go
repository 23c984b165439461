// Package rotation is Secrets Manager's secret rotation: the RotateSecret
// and CancelRotateSecret actions, the rotation state machine that runs a
// rotator through AWS's four Lambda steps (createSecret, setSecret,
// testSecret, finishSecret), the scheduler that starts due rotations
// exactly once across servers sharing a database, and two kinds of rotator:
// a signed HTTPS webhook addressed by a Lambda function ARN, and a built-in
// PostgreSQL rotator (single user and alternating users).
package rotation
