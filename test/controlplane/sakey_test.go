package controlplane

// serviceAccountSigningKey is the insecure, test-only key that
// k8s.io/kubernetes/cmd/kube-apiserver/app/testing hardcodes (unexported) to
// sign and verify ServiceAccount tokens. The controller-manager's
// serviceaccount-token controller must sign legacy token Secrets with the
// same key for the apiserver to accept them. Never use it outside tests.
const serviceAccountSigningKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIEZmTmUhuanLjPA2CLquXivuwBDHTt5XYwgIr/kA1LtRoAoGCCqGSM49
AwEHoUQDQgAEH6cuzP8XuD5wal6wf9M6xDljTOPLX2i8uIp/C/ASqiIGUeeKQtX0
/IR3qCXyThP/dbCiHrF3v1cuhBOHY8CLVg==
-----END EC PRIVATE KEY-----
`
