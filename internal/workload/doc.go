// Package workload is Bulwark's workload identity: each service (a
// "workload") is registered with its own least-privilege IAM role, proves
// who it is (a one-time join token, or an OIDC token such as a Kubernetes
// service-account token), and receives short-lived role credentials that
// an agent beside it serves to unmodified AWS SDKs through the container
// credentials endpoint and IMDSv2.
//
// The server side is two services on the one request path:
//
//   - bulwark-workloads (JSON 1.1, X-Amz-Target BulwarkWorkloads.*): the
//     signed, IAM-authorised API operators use to register, list, update
//     and revoke workloads and to create join tokens;
//   - bulwark-workload-agent (query protocol): the two unsigned calls an
//     agent makes, AttestWorkload (a join token or OIDC token for an agent
//     token) and GetWorkloadCredentials (an agent token for a role session).
//
// Which workload may use which role is decided by the IAM policy engine,
// as for ECS task roles: the role's trust policy must allow the service
// principal workloads.bulwark.internal for sts:AssumeRole, and it can test
// aws:SourceArn (the workload's ARN), aws:SourceAccount and the
// bulwark-workloads:* keys (WorkloadName, WorkloadId, AttestationType,
// Selector/<key>). Registering a workload with a role, or changing it,
// needs iam:PassRole on that role.
//
// The client side (Agent, Endpoint, the signed API client) lives here too;
// cmd/bulwark wires `bulwark agent`, `bulwark exec` and `bulwark workload`.
package workload
