"""kube-proxy: each node's Service rule table (`rules`, pure) served over gRPC (`actor`)."""
