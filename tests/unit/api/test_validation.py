"""validation.validate: one case per rule, with upstream's exact message."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from actors.api.errors import invalid
from actors.api.resources import RESOURCES, for_kind
from actors.api.validation import is_dns1123_label, is_dns1123_subdomain, validate

from .fixtures import Obj, base, stored

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
             "'-' or '.', and must start and end with an alphanumeric character (e.g. "
             "'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
         "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
         "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
           "with an alphabetic character, and end with an alphanumeric character (e.g. "
           "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
QNAME = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
         "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
         "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', "
               "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', "
               " or 'my_value',  or '12345', regex used for validation is "
               "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
CM_KEY = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
          "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
          "'[-._a-zA-Z0-9]+')")
PORT_RANGE = "must be between 1 and 65535, inclusive"
BAD_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
POD_UPDATE = ("spec: Forbidden: pod updates may not change fields other than "
              "`spec.containers[*].image`,`spec.initContainers[*].image`,"
              "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
              "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
              "was previously negative)")
EMPTY_SELECTOR = ("v1.LabelSelector{MatchLabels:map[string]string(nil), "
                  "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}")
SERVICE_PORT_80 = ('core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), '
                   'Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, '
                   'NodePort:0}')

Mut = Callable[[Obj], Any]


def s(path: str, value: Any) -> Mut:
    """Set a dotted path (``spec.containers.0.image``); ``...`` deletes."""
    def f(obj: Obj) -> None:
        parts = path.split(".")
        cur: Any = obj
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
        last = parts[-1]
        if value is ...:
            if isinstance(cur, list):
                del cur[int(last)]
            else:
                cur.pop(last, None)
        elif isinstance(cur, list):
            cur[int(last)] = copy.deepcopy(value)
        else:
            cur[last] = copy.deepcopy(value)
    return f


def do(*muts: Mut) -> Mut:
    def f(obj: Obj) -> None:
        for m in muts:
            m(obj)
    return f


def append(path: str, value: Any) -> Mut:
    def f(obj: Obj) -> None:
        cur: Any = obj
        for p in path.split("."):
            cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, [] if p == path.split(".")[-1] else {})
        cur.append(copy.deepcopy(value))
    return f


C0 = "spec.containers.0"
TPL = "spec.template.spec.containers.0"

CREATE = [
    # ---- ObjectMeta ------------------------------------------------------------------------
    pytest.param("Pod", s("metadata.name", ...),
                 ["metadata.name: Required value: name or generateName is required"], id="meta-name-required"),
    pytest.param("Pod", do(s("metadata.name", ...), s("metadata.generateName", "web-")), [],
                 id="meta-generate-name-suffices"),
    pytest.param("Pod", s("metadata.name", "Web_1"),
                 [f'metadata.name: Invalid value: "Web_1": {SUBDOMAIN}'], id="meta-name-subdomain"),
    pytest.param("Pod", do(s("metadata.name", ...), s("metadata.generateName", "Web-")),
                 [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN}'], id="meta-generate-name-invalid"),
    pytest.param("Pod", s("metadata.name", "a" * 254),
                 ['metadata.name: Invalid value: "' + "a" * 254 + '": must be no more than 253 characters'],
                 id="meta-name-too-long"),
    pytest.param("Namespace", s("metadata.name", "team.a"),
                 ['metadata.name: Invalid value: "team.a": must not contain dots'], id="meta-namespace-name-label"),
    pytest.param("Namespace", s("metadata.name", "Team"),
                 [f'metadata.name: Invalid value: "Team": {LABEL}'], id="meta-namespace-name-regex"),
    pytest.param("Service", s("metadata.name", "1web"),
                 [f'metadata.name: Invalid value: "1web": {DNS1035}'], id="meta-service-name-dns1035"),
    pytest.param("Pod", s("metadata.namespace", ...), ["metadata.namespace: Required value"],
                 id="meta-namespace-required"),
    pytest.param("ConfigMap", s("metadata.namespace", "Bad_NS"),
                 [f'metadata.namespace: Invalid value: "Bad_NS": {LABEL}'], id="meta-namespace-invalid"),
    pytest.param("Node", s("metadata.namespace", "default"),
                 ["metadata.namespace: Forbidden: not allowed on this type"], id="meta-namespace-forbidden"),
    pytest.param("Pod", s("metadata.generation", -1),
                 ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"],
                 id="meta-generation-negative"),
    pytest.param("Pod", s("metadata.labels", {"-bad": "x"}),
                 [f'metadata.labels: Invalid value: "-bad": {QNAME}'], id="meta-label-key"),
    pytest.param("Pod", s("metadata.labels", {"app": "a b"}),
                 [f'metadata.labels: Invalid value: "a b": {LABEL_VALUE}'], id="meta-label-value"),
    pytest.param("Pod", s("metadata.labels", {"Example.com/app": "x"}),
                 [f'metadata.labels: Invalid value: "Example.com/app": prefix part {SUBDOMAIN}'],
                 id="meta-label-prefix"),
    pytest.param("Pod", s("metadata.annotations", {"a/b/c": "x"}),
                 ['metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of '
                  "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                  "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
                  "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional "
                  "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"],
                 id="meta-annotation-key"),
    pytest.param("Pod", s("metadata.annotations", {"Upper.Case/OK": "x"}), [],
                 id="meta-annotation-key-case-insensitive"),
    pytest.param("Pod", s("metadata.annotations", {"big": "x" * 262144}),
                 ["metadata.annotations: Too long: must have at most 262144 bytes"], id="meta-annotations-size"),
    pytest.param("Pod", s("metadata.finalizers", ["foo"]),
                 ['metadata.finalizers: Invalid value: "foo": name is neither a standard finalizer '
                  "name nor is it fully qualified"], id="meta-finalizer-unqualified"),
    pytest.param("Pod", s("metadata.finalizers", ["example.com/protect", "foregroundDeletion"]), [],
                 id="meta-finalizers-ok"),
    pytest.param("Pod", s("metadata.ownerReferences", [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": True},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": True}]),
                 ['metadata.ownerReferences: Invalid value: []v1.OwnerReference{v1.OwnerReference'
                  '{APIVersion:"apps/v1", Kind:"ReplicaSet", Name:"a", UID:"1", Controller:(*bool)'
                  '(0xc000010000), BlockOwnerDeletion:(*bool)(nil)}, v1.OwnerReference{APIVersion:'
                  '"apps/v1", Kind:"ReplicaSet", Name:"b", UID:"2", Controller:(*bool)(0xc000010000), '
                  'BlockOwnerDeletion:(*bool)(nil)}}: Only one reference can have Controller set to '
                  'true. Found "true" in references for ReplicaSet/a and ReplicaSet/b'],
                 id="meta-owner-two-controllers"),
    pytest.param("Pod", s("metadata.ownerReferences", [{"apiVersion": "v1", "kind": "Node", "name": "n"}]),
                 ['metadata.ownerReferences.uid: Invalid value: "": uid must not be empty'],
                 id="meta-owner-uid-required"),
    # ---- Pod ------------------------------------------------------------------------------------
    pytest.param("Pod", s("spec.containers", []), ["spec.containers: Required value"], id="pod-containers-required"),
    pytest.param("Pod", s(f"{C0}.image", ...), ["spec.containers[0].image: Required value"],
                 id="pod-image-required"),
    pytest.param("Pod", s(f"{C0}.image", " nginx"),
                 ['spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace'],
                 id="pod-image-whitespace"),
    pytest.param("Pod", s(f"{C0}.name", ...), ["spec.containers[0].name: Required value"], id="pod-container-name-required"),
    pytest.param("Pod", s(f"{C0}.name", "Nginx"),
                 [f'spec.containers[0].name: Invalid value: "Nginx": {LABEL}'], id="pod-container-name-label"),
    pytest.param("Pod", append("spec.containers", {"name": "nginx", "image": "busybox", "imagePullPolicy": "Always",
                                                   "terminationMessagePolicy": "File"}),
                 ['spec.containers[1].name: Duplicate value: "nginx"'], id="pod-container-name-duplicate"),
    pytest.param("Pod", s("spec.initContainers", [{"name": "nginx", "image": "busybox", "imagePullPolicy": "Always",
                                                   "terminationMessagePolicy": "File"}]),
                 ['spec.initContainers[0].name: Duplicate value: "nginx"'], id="pod-init-container-name-duplicate"),
    pytest.param("Pod", s(f"{C0}.imagePullPolicy", "Sometimes"),
                 ['spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: '
                  '"Always", "IfNotPresent", "Never"'], id="pod-image-pull-policy"),
    pytest.param("Pod", s(f"{C0}.ports.0.containerPort", 70000),
                 [f"spec.containers[0].ports[0].containerPort: Invalid value: 70000: {PORT_RANGE}"],
                 id="pod-container-port-range"),
    pytest.param("Pod", s(f"{C0}.ports.0.containerPort", 0),
                 ["spec.containers[0].ports[0].containerPort: Required value"], id="pod-container-port-required"),
    pytest.param("Pod", s(f"{C0}.ports.0.hostPort", -1),
                 [f"spec.containers[0].ports[0].hostPort: Invalid value: -1: {PORT_RANGE}"], id="pod-host-port-range"),
    pytest.param("Pod", s(f"{C0}.ports.0.protocol", "HTTP"),
                 ['spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: '
                  '"SCTP", "TCP", "UDP"'], id="pod-port-protocol"),
    pytest.param("Pod", s(f"{C0}.ports.0.name", "web--port"),
                 ['spec.containers[0].ports[0].name: Invalid value: "web--port": must not contain consecutive hyphens'],
                 id="pod-port-name"),
    pytest.param("Pod", append(f"{C0}.ports", {"containerPort": 81, "name": "a", "protocol": "TCP"}) if False else
                 s(f"{C0}.ports", [{"containerPort": 80, "name": "web", "protocol": "TCP"},
                                   {"containerPort": 81, "name": "web", "protocol": "TCP"}]),
                 ['spec.containers[0].ports[1].name: Duplicate value: "web"'], id="pod-port-name-duplicate"),
    pytest.param("Pod", s(f"{C0}.ports", [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"},
                                          {"containerPort": 81, "hostPort": 8080, "protocol": "TCP"}]),
                 ['spec.containers[0].ports[1].hostPort: Duplicate value: "TCP//8080"'], id="pod-host-port-duplicate"),
    pytest.param("Pod", s(f"{C0}.resources", {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}),
                 ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal '
                  "to cpu limit of 1"], id="pod-requests-exceed-limits"),
    pytest.param("Pod", s(f"{C0}.resources", {"requests": {"memory": "-1Mi"}}),
                 ['spec.containers[0].resources.requests[memory]: Invalid value: "-1Mi": must be greater '
                  "than or equal to 0"], id="pod-negative-request"),
    pytest.param("Pod", s(f"{C0}.resources", {"limits": {"gpu": "1"}}),
                 ['spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard '
                  "resource for containers"], id="pod-resource-name"),
    pytest.param("Pod", s(f"{C0}.resources", {"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}}),
                 ['spec.containers[0].resources.requests: Invalid value: "1": must be equal to '
                  "example.com/gpu limit of 2"], id="pod-extended-resource-no-overcommit"),
    pytest.param("Pod", s(f"{C0}.resources", {"requests": {"cpu": "1x"}}),
                 ["spec.containers[0].resources.requests[cpu]: Invalid value: \"1x\": quantities must match "
                  "the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
                 id="pod-quantity-syntax"),
    pytest.param("Pod", s("spec.restartPolicy", "Sometimes"),
                 ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
                  '"OnFailure", "Never"'], id="pod-restart-policy"),
    pytest.param("Pod", s("spec.dnsPolicy", "Google"),
                 ['spec.dnsPolicy: Unsupported value: "Google": supported values: '
                  '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'], id="pod-dns-policy"),
    pytest.param("Pod", s("spec.nodeName", "Node_1"),
                 [f'spec.nodeName: Invalid value: "Node_1": {SUBDOMAIN}'], id="pod-node-name"),
    pytest.param("Pod", s("spec.nodeSelector", {"disk": "s s d"}),
                 [f'spec.nodeSelector: Invalid value: "s s d": {LABEL_VALUE}'], id="pod-node-selector"),
    pytest.param("Pod", s("spec.activeDeadlineSeconds", 0),
                 ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"],
                 id="pod-active-deadline"),
    pytest.param("Pod", append("spec.tolerations", {"operator": "Equal", "value": "x"}),
                 ['spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when '
                  '`key` is empty, which means "match all values and all keys"'], id="pod-toleration-empty-key"),
    pytest.param("Pod", append("spec.tolerations", {"key": "k", "operator": "Same"}),
                 ['spec.tolerations[0].operator: Unsupported value: "Same": supported values: "Equal", "Exists"'],
                 id="pod-toleration-operator"),
    pytest.param("Pod", append("spec.tolerations", {"key": "k", "operator": "Exists", "value": "v"}),
                 ['spec.tolerations[0].operator: Invalid value: core.Toleration{Key:"k", Operator:"Exists", '
                  'Value:"v", Effect:"", TolerationSeconds:(*int64)(nil)}: value must be empty when '
                  "`operator` is 'Exists'"], id="pod-toleration-exists-value"),
    pytest.param("Pod", append("spec.tolerations", {"key": "k", "operator": "Exists", "effect": "NoSched"}),
                 ['spec.tolerations[0].effect: Unsupported value: "NoSched": supported values: '
                  '"NoSchedule", "PreferNoSchedule", "NoExecute"'], id="pod-toleration-effect"),
    pytest.param("Pod", append("spec.tolerations", {"key": "k", "operator": "Exists", "effect": "NoSchedule",
                                                    "tolerationSeconds": 5}),
                 ['spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be \'NoExecute\' '
                  "when `tolerationSeconds` is set"], id="pod-toleration-seconds-effect"),
    pytest.param("Pod", s(f"{C0}.volumeMounts", [{"name": "data", "mountPath": "/data"}]),
                 ['spec.containers[0].volumeMounts[0].name: Not found: "data"'], id="pod-volume-mount-not-found"),
    pytest.param("Pod", do(s("spec.volumes", [{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}])),
                 ['spec.volumes[1].name: Duplicate value: "data"'], id="pod-volume-duplicate"),
    pytest.param("Pod", s(f"{C0}.env", [{"name": "1VAR", "value": "x"}]),
                 ['spec.containers[0].env[0].name: Invalid value: "1VAR": a valid environment variable '
                  "name must consist of alphabetic characters, digits, '_', '-', or '.', and must not "
                  "start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex "
                  "used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"], id="pod-env-name"),
    pytest.param("Pod", s("spec.affinity", {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["a"]}]}]}}}),
                 ['spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms'
                  '[0].matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator'],
                 id="pod-node-affinity-operator"),
    pytest.param("Pod", s("spec.affinity", {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": []}}}),
                 ["spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: "
                  "Required value: must have at least one node selector term"], id="pod-node-affinity-terms"),
    pytest.param("Pod", s(f"{C0}.livenessProbe", {"periodSeconds": 10}),
                 ["spec.containers[0].livenessProbe: Required value: must specify a handler type"],
                 id="pod-probe-handler"),
    # ---- ReplicaSet / Deployment ----------------------------------------------------------------
    pytest.param("Deployment", s("spec.replicas", -1),
                 ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"], id="deploy-replicas"),
    pytest.param("Deployment", s("spec.selector", ...),
                 ["spec.selector: Required value",
                  'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
                  "`selector` does not match template `labels`"], id="deploy-selector-required"),
    pytest.param("Deployment", s("spec.selector", {}),
                 [f"spec.selector: Invalid value: {EMPTY_SELECTOR}: empty selector is invalid for deployment"],
                 id="deploy-selector-empty"),
    pytest.param("Deployment", s("spec.template.metadata.labels", {"app": "api", "tier": "x"}),
                 ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"api", "tier":"x"}: '
                  "`selector` does not match template `labels`"], id="deploy-template-labels"),
    pytest.param("Deployment", s("spec.template.metadata.labels", ...),
                 ["spec.template.metadata.labels: Invalid value: map[string]string(nil): "
                  "`selector` does not match template `labels`"], id="deploy-template-labels-nil"),
    pytest.param("Deployment", s("spec.template.metadata.labels.app", "-web"),
                 ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"-web"}: '
                  "`selector` does not match template `labels`",
                  f'spec.template.labels: Invalid value: "-web": {LABEL_VALUE}'], id="deploy-template-label-value"),
    pytest.param("Deployment", s("spec.template.spec.restartPolicy", "Never"),
                 ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
                 id="deploy-template-restart-policy"),
    pytest.param("Deployment", s(f"{TPL}.image", ""),
                 ["spec.template.spec.containers[0].image: Required value"], id="deploy-template-image"),
    pytest.param("Deployment", do(s("spec.strategy.type", "Blue"), s("spec.strategy.rollingUpdate", ...)),
                 ['spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"Blue", '
                  'RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", '
                  '"RollingUpdate"'], id="deploy-strategy-type"),
    pytest.param("Deployment", s("spec.strategy.type", "Recreate"),
                 ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"],
                 id="deploy-recreate-rolling-update"),
    pytest.param("Deployment", s("spec.strategy.rollingUpdate", {"maxSurge": 0, "maxUnavailable": 0}),
                 ["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, "
                  'IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0'], id="deploy-surge-unavailable-zero"),
    pytest.param("Deployment", s("spec.strategy.rollingUpdate", {"maxSurge": "0%", "maxUnavailable": 0}),
                 ["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, "
                  'IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0'], id="deploy-surge-zero-percent"),
    pytest.param("Deployment", s("spec.strategy.rollingUpdate.maxUnavailable", "110%"),
                 ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, '
                  'IntVal:0, StrVal:"110%"}: must not be greater than 100%'], id="deploy-unavailable-over-100"),
    pytest.param("Deployment", s("spec.strategy.rollingUpdate.maxSurge", "20Percent"),
                 ['spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, '
                  "StrVal:\"20Percent\"}: a valid percent string must be a numeric string followed by an "
                  "ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"],
                 id="deploy-surge-percent-syntax"),
    pytest.param("Deployment", s("spec.strategy.rollingUpdate.maxUnavailable", -1),
                 ["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: -1: must be greater than or equal to 0"],
                 id="deploy-unavailable-negative"),
    pytest.param("Deployment", s("spec.revisionHistoryLimit", -1),
                 ["spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"],
                 id="deploy-revision-history"),
    pytest.param("Deployment", s("spec.minReadySeconds", -5),
                 ["spec.minReadySeconds: Invalid value: -5: must be greater than or equal to 0"],
                 id="deploy-min-ready-negative"),
    pytest.param("Deployment", do(s("spec.minReadySeconds", 10), s("spec.progressDeadlineSeconds", 10)),
                 ["spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds"],
                 id="deploy-progress-deadline"),
    pytest.param("ReplicaSet", s("spec.replicas", -1),
                 ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"], id="rs-replicas"),
    pytest.param("ReplicaSet", s("spec.selector", {}),
                 [f"spec.selector: Invalid value: {EMPTY_SELECTOR}: empty selector is invalid for deployment"],
                 id="rs-selector-empty"),
    pytest.param("ReplicaSet", s("spec.selector.matchExpressions", [{"key": "tier", "operator": "Near"}]),
                 ['spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator',
                  'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, '
                  'MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"tier", '
                  'Operator:"Near", Values:[]string(nil)}}}: invalid label selector'], id="rs-selector-operator"),
    pytest.param("ReplicaSet", s("spec.selector.matchExpressions", [{"key": "tier", "operator": "In"}]),
                 ["spec.selector.matchExpressions[0].values: Required value: must be specified when "
                  "`operator` is 'In' or 'NotIn'",
                  'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, '
                  'MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"tier", '
                  'Operator:"In", Values:[]string(nil)}}}: invalid label selector'], id="rs-selector-in-values"),
    pytest.param("ReplicaSet", s("spec.template.spec.activeDeadlineSeconds", 30),
                 ["spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet "
                  "is not Supported"], id="rs-template-active-deadline"),
    # ---- Service ---------------------------------------------------------------------------------
    pytest.param("Service", s("spec.ports", []), ["spec.ports: Required value"], id="svc-ports-required"),
    pytest.param("Service", do(s("spec.ports", []), s("spec.clusterIP", "None"), s("spec.clusterIPs", ["None"])), [],
                 id="svc-headless-no-ports"),
    pytest.param("Service", s("spec.ports.0.port", 0),
                 [f"spec.ports[0].port: Invalid value: 0: {PORT_RANGE}"], id="svc-port-range"),
    pytest.param("Service", s("spec.ports.0.protocol", "ICMP"),
                 ['spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'],
                 id="svc-port-protocol"),
    pytest.param("Service", s("spec.ports.0.targetPort", "web--x"),
                 ['spec.ports[0].targetPort: Invalid value: "web--x": must not contain consecutive hyphens'],
                 id="svc-target-port-name"),
    pytest.param("Service", s("spec.ports.0.targetPort", 65536),
                 [f"spec.ports[0].targetPort: Invalid value: 65536: {PORT_RANGE}"], id="svc-target-port-range"),
    pytest.param("Service", s("spec.ports", [{"port": 80, "protocol": "TCP", "targetPort": 80},
                                             {"port": 81, "protocol": "TCP", "targetPort": 81}]),
                 ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
                 id="svc-port-names-required"),
    pytest.param("Service", s("spec.ports", [{"name": "a", "port": 80, "protocol": "TCP", "targetPort": 80},
                                             {"name": "a", "port": 81, "protocol": "TCP", "targetPort": 81}]),
                 ['spec.ports[1].name: Duplicate value: "a"'], id="svc-port-name-duplicate"),
    pytest.param("Service", s("spec.ports", [{"name": "a", "port": 80, "protocol": "TCP", "targetPort": 80},
                                             {"name": "b", "port": 80, "protocol": "TCP", "targetPort": 81}]),
                 [f"spec.ports[1]: Duplicate value: {SERVICE_PORT_80}"], id="svc-port-duplicate"),
    pytest.param("Service", s("spec.ports.0.nodePort", 30080),
                 ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
                 id="svc-node-port-cluster-ip"),
    pytest.param("Service", s("spec.type", "Internal"),
                 ['spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", '
                  '"LoadBalancer", "NodePort"'], id="svc-type"),
    pytest.param("Service", s("spec.sessionAffinity", "Sticky"),
                 ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
                 id="svc-session-affinity"),
    pytest.param("Service", do(s("spec.clusterIP", "10.0.0.300"), s("spec.clusterIPs", ["10.0.0.300"])),
                 [f'spec.clusterIPs[0]: Invalid value: "10.0.0.300": {BAD_IP}'], id="svc-cluster-ip"),
    pytest.param("Service", do(s("spec.clusterIP", "10.0.0.1"), s("spec.clusterIPs", ["10.0.0.2"])),
                 ['spec.clusterIPs: Invalid value: []string{"10.0.0.2"}: first value must match `clusterIP`'],
                 id="svc-cluster-ips-mismatch"),
    pytest.param("Service", s("spec.selector", {"app": "a b"}),
                 [f'spec.selector: Invalid value: "a b": {LABEL_VALUE}'], id="svc-selector"),
    pytest.param("Service", do(s("spec.type", "ExternalName"), s("spec.ipFamilies", ...),
                               s("spec.ipFamilyPolicy", ...), s("spec.internalTrafficPolicy", ...)),
                 ["spec.externalName: Required value"], id="svc-external-name-required"),
    pytest.param("Service", do(s("spec.type", "NodePort"), s("spec.clusterIP", "None"), s("spec.clusterIPs", ["None"])),
                 ["spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"],
                 id="svc-node-port-headless"),
    # ---- ConfigMap / Secret ---------------------------------------------------------------------
    pytest.param("ConfigMap", s("data", {"a b": "x"}), [f'data[a b]: Invalid value: "a b": {CM_KEY}'],
                 id="cm-key"),
    pytest.param("ConfigMap", s("data", {"..x": "x"}),
                 ['data[..x]: Invalid value: "..x": must not start with \'..\''], id="cm-key-dotdot"),
    pytest.param("ConfigMap", s("data", {"a": "x" * (1024 * 1024 + 1)}),
                 [": Too long: must have at most 1048576 bytes"], id="cm-size"),
    pytest.param("ConfigMap", do(s("data", {"a": "x"}), s("binaryData", {"a": "eA=="})),
                 ['data[a]: Invalid value: "a": duplicate of key present in binaryData'], id="cm-duplicate-binary"),
    pytest.param("Secret", s("data", {"a/b": "eA=="}),
                 ["data[a/b]: Invalid value: \"a/b\": " + CM_KEY], id="secret-key"),
    pytest.param("Secret", s("data", {"a": "eHh4" * 349526}),
                 ["data: Too long: must have at most 1048576 bytes"], id="secret-size"),
    pytest.param("Secret", s("type", "kubernetes.io/tls"),
                 ["data[tls.crt]: Required value", "data[tls.key]: Required value"], id="secret-tls-keys"),
    # ---- Namespace / Node / Lease / Event / Endpoints --------------------------------------------
    pytest.param("Namespace", s("spec.finalizers", ["foo"]),
                 ['spec.finalizers: Invalid value: "foo": name is neither a standard finalizer name nor is '
                  "it fully qualified"], id="ns-finalizer"),
    pytest.param("Node", s("spec.taints", [{"key": "a", "effect": "Never"}]),
                 ['metadata.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", '
                  '"PreferNoSchedule", "NoExecute"'], id="node-taint-effect"),
    pytest.param("Node", s("spec.taints", [{"key": "a"}]),
                 ["metadata.taints[0].effect: Required value"], id="node-taint-effect-required"),
    pytest.param("Node", s("spec.taints", [{"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule", "value": "b"}]),
                 ['metadata.taints[1]: Duplicate value: core.Taint{Key:"a", Value:"b", Effect:"NoSchedule", '
                  "TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair"], id="node-taint-duplicate"),
    pytest.param("Node", s("spec.taints", [{"key": "a", "value": "-x", "effect": "NoSchedule"}]),
                 [f'metadata.taints[0].value: Invalid value: "-x": {LABEL_VALUE}'], id="node-taint-value"),
    pytest.param("Node", s("status.capacity.cpu", "-1"),
                 ['status.capacity.cpu: Invalid value: "-1": must be greater than or equal to 0'],
                 id="node-capacity-negative"),
    pytest.param("Node", s("spec.podCIDRs", ["10.244.1.0/33"]),
                 ['spec.podCIDRs[0]: Invalid value: []string{"10.244.1.0/33"}: must be valid CIDR'],
                 id="node-pod-cidr"),
    pytest.param("Lease", s("spec.leaseDurationSeconds", 0),
                 ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"], id="lease-duration"),
    pytest.param("Lease", s("spec.leaseTransitions", -1),
                 ["spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"],
                 id="lease-transitions"),
    pytest.param("Lease", s("metadata.finalizers", ["foo"]), [], id="lease-finalizers-apimachinery"),
    pytest.param("Event", s("involvedObject.namespace", "other"),
                 ['involvedObject.namespace: Invalid value: "other": does not match event.namespace'],
                 id="event-namespace"),
    pytest.param("Event", do(s("eventTime", "2024-01-01T00:00:00.000000Z"), s("reportingComponent", "kubelet")),
                 ["reportingInstance: Required value", "action: Required value"], id="event-new-style"),
    pytest.param("Endpoints", s("subsets.0.addresses", []),
                 ["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"],
                 id="ep-addresses"),
    pytest.param("Endpoints", s("subsets.0.addresses.0.ip", "10.0.0.x"),
                 [f'subsets[0].addresses[0].ip: Invalid value: "10.0.0.x": {BAD_IP}'], id="ep-ip"),
    pytest.param("Endpoints", s("subsets.0.addresses.0.ip", "127.0.0.1"),
                 ['subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback '
                  "range (127.0.0.0/8, ::1/128)"], id="ep-loopback"),
    pytest.param("Endpoints", s("subsets.0.ports.0.port", 0),
                 [f"subsets[0].ports[0].port: Invalid value: 0: {PORT_RANGE}"], id="ep-port"),
]


@pytest.mark.parametrize("kind", sorted(r.kind for r in RESOURCES.values()))
def test_defaulted_base_objects_are_valid(kind: str) -> None:
    assert [str(e) for e in validate(base(kind))] == []


@pytest.mark.parametrize("kind,mutate,want", CREATE)
def test_create(kind: str, mutate: Mut, want: list[str]) -> None:
    obj = base(kind)
    mutate(obj)
    assert [str(e) for e in validate(obj)] == want


UPDATE = [
    pytest.param("Pod", s("metadata.name", "web2"),
                 ['metadata.name: Invalid value: "web2": field is immutable'], id="name-immutable"),
    pytest.param("ConfigMap", s("metadata.namespace", "other"),
                 ['metadata.namespace: Invalid value: "other": field is immutable'], id="namespace-immutable"),
    pytest.param("Secret", s("metadata.uid", "x"),
                 ['metadata.uid: Invalid value: "x": field is immutable'], id="uid-immutable"),
    pytest.param("Pod", s("metadata.resourceVersion", ...),
                 ['metadata.resourceVersion: Invalid value: "": must be specified for an update'],
                 id="resource-version-required"),
    pytest.param("Deployment", s("metadata.generation", 1),
                 [], id="generation-ok"),
    pytest.param("Pod", do(s("metadata.deletionTimestamp", "2024-01-02T00:00:00Z"),
                           s("metadata.finalizers", ["example.com/x"])),
                 ['metadata.deletionTimestamp: Invalid value: "2024-01-02T00:00:00Z": field is immutable'],
                 id="deletion-timestamp-immutable"),
    pytest.param("Pod", s(f"{C0}.image", "nginx:1.26"), [], id="pod-image-update"),
    pytest.param("Pod", s("spec.activeDeadlineSeconds", 60), [], id="pod-active-deadline-set"),
    pytest.param("Pod", append("spec.tolerations", {"key": "k", "operator": "Exists", "effect": "NoSchedule"}),
                 [], id="pod-toleration-added"),
    pytest.param("Pod", s("spec.tolerations.0.tolerationSeconds", 60), [], id="pod-toleration-seconds-changed"),
    pytest.param("Pod", s("spec.tolerations", []),
                 ["spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"],
                 id="pod-toleration-removed"),
    pytest.param("Pod", append("spec.containers", {"name": "side", "image": "busybox", "imagePullPolicy": "Always",
                                                   "terminationMessagePolicy": "File"}),
                 ["spec.containers: Forbidden: pod updates may not add or remove containers"],
                 id="pod-container-added"),
    pytest.param("Pod", s(f"{C0}.image", ""),
                 ["spec.containers[0].image: Required value", "spec.containers[0].image: Required value"],
                 id="pod-image-cleared"),
    pytest.param("Pod", s("spec.nodeName", "node-1"), [POD_UPDATE], id="pod-node-name-changed"),
    pytest.param("Pod", s(f"{C0}.ports.0.containerPort", 8080), [POD_UPDATE], id="pod-port-changed"),
    pytest.param("Deployment", do(s("spec.selector.matchLabels", {"app": "web2"}),
                                  s("spec.template.metadata.labels", {"app": "web2"})),
                 ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, '
                  "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"],
                 id="deploy-selector-immutable"),
    pytest.param("Deployment", do(s("spec.replicas", 10), s(f"{TPL}.image", "nginx:1.26")), [],
                 id="deploy-scale-and-image"),
    pytest.param("ReplicaSet", s("spec.selector.matchLabels.tier", "x"),
                 ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
                  "`selector` does not match template `labels`",
                  'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", '
                  '"tier":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable'],
                 id="rs-selector-immutable"),
    pytest.param("Service", do(s("spec.clusterIP", "10.96.0.11"), s("spec.clusterIPs", ["10.96.0.11"])),
                 ['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set'],
                 id="svc-cluster-ip-immutable"),
    pytest.param("Service", s("spec.ports.0.port", 8080), [], id="svc-port-change"),
    pytest.param("ConfigMap", do(s("immutable", True), s("data", {"key.conf": "x"})), [], id="cm-make-immutable"),
    pytest.param("Secret", s("type", "example.com/custom"),
                 ['type: Invalid value: "example.com/custom": field is immutable'], id="secret-type-immutable"),
    pytest.param("Node", s("spec.podCIDRs", ["10.244.2.0/24"]),
                 ['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'],
                 id="node-pod-cidr-immutable"),
    pytest.param("Node", s("spec.unschedulable", True), [], id="node-cordon"),
    pytest.param("Lease", s("spec.renewTime", "2024-01-01T00:00:10.000000Z"), [], id="lease-renew"),
]


@pytest.mark.parametrize("kind,mutate,want", UPDATE)
def test_update(kind: str, mutate: Mut, want: list[str]) -> None:
    old = stored(kind)
    new = copy.deepcopy(old)
    mutate(new)
    # the Forbidden pod-update error is followed by a diff on the next lines
    assert [str(e).split("\n")[0] for e in validate(new, old)] == want


def test_pod_update_error_shows_what_changed() -> None:
    old = stored("Pod")
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080
    (err,) = validate(new, old)
    assert str(err).split("\n")[1:] == [
        "  core.PodSpec{",
        "- \tcontainers[0].ports[0].containerPort: 80,",
        "+ \tcontainers[0].ports[0].containerPort: 8080,",
        "  }"]


def test_immutable_configmap_rejects_data_changes() -> None:
    old = stored("ConfigMap")
    old["immutable"] = True
    new = copy.deepcopy(old)
    new["data"]["key.conf"] = "changed"
    new["immutable"] = False
    assert [str(e) for e in validate(new, old)] == [
        "immutable: Forbidden: field is immutable when `immutable` is set",
        "data: Forbidden: field is immutable when `immutable` is set"]


def test_pod_active_deadline_may_only_decrease() -> None:
    old = stored("Pod")
    old["spec"]["activeDeadlineSeconds"] = 30
    new = copy.deepcopy(old)
    new["spec"]["activeDeadlineSeconds"] = 60
    assert [str(e) for e in validate(new, old)] == [
        "spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value"]
    del new["spec"]["activeDeadlineSeconds"]
    assert [str(e) for e in validate(new, old)] == [
        "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"]


def test_no_new_finalizers_while_deleting() -> None:
    old = stored("ConfigMap")
    old["metadata"]["deletionTimestamp"] = "2024-01-02T00:00:00Z"
    new = copy.deepcopy(old)
    new["metadata"]["finalizers"] = ["example.com/late"]
    assert [str(e) for e in validate(new, old)] == [
        'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being '
        'deleted, found new finalizers []string{"example.com/late"}']


STATUS = [
    pytest.param("Namespace", s("status.phase", "Terminating"),
                 ["status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty"],
                 id="ns-phase"),
    pytest.param("Deployment", s("status", {"replicas": 1, "readyReplicas": 3, "availableReplicas": 0}),
                 ["status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas"],
                 id="deploy-ready-gt-replicas"),
    pytest.param("Deployment", s("status", {"replicas": 3, "readyReplicas": 1, "availableReplicas": 2}),
                 ["status.availableReplicas: Invalid value: 2: cannot be greater than readyReplicas"],
                 id="deploy-available-gt-ready"),
    pytest.param("ReplicaSet", s("status", {"replicas": 1, "readyReplicas": 2, "availableReplicas": 1}),
                 ["status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"],
                 id="rs-ready-gt-replicas"),
    pytest.param("ReplicaSet", s("status", {"replicas": 1, "observedGeneration": -1}),
                 ["status.observedGeneration: Invalid value: -1: must be greater than or equal to 0"],
                 id="rs-observed-generation-negative"),
    pytest.param("Pod", s("spec.nodeName", "node-9"),
                 ["status.nodeName: Forbidden: may not be changed directly"], id="pod-node-name"),
    pytest.param("Pod", s("status", {"phase": "Running", "podIPs": [{"ip": "10.244.0.300"}]}),
                 [f'status.podIPs[0]: Invalid value: "10.244.0.300": {BAD_IP}'], id="pod-ip"),
    pytest.param("Pod", s("status", {"phase": "Running", "podIP": "10.244.1.7", "podIPs": [{"ip": "10.244.1.7"}]}),
                 [], id="pod-running"),
]


@pytest.mark.parametrize("kind,mutate,want", STATUS)
def test_status_update(kind: str, mutate: Mut, want: list[str]) -> None:
    old = stored(kind)
    new = copy.deepcopy(old)
    mutate(new)
    assert [str(e) for e in validate(new, old, subresource="status")] == want


def test_invalid_error_message_aggregates_like_kubectl_prints() -> None:
    d = base("Deployment")
    d["spec"]["replicas"] = -1
    err = invalid(for_kind("Deployment"), "web", validate(d))
    assert err.message == ('Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: '
                           "must be greater than or equal to 0")
    d["spec"]["revisionHistoryLimit"] = -2
    err = invalid(for_kind("Deployment"), "web", validate(d))
    assert err.message == ('Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: '
                           "must be greater than or equal to 0, spec.revisionHistoryLimit: Invalid "
                           "value: -2: must be greater than or equal to 0]")


@pytest.mark.parametrize("fn,value,want", [
    pytest.param(is_dns1123_subdomain, "example.com", [], id="subdomain-ok"),
    pytest.param(is_dns1123_subdomain, "-a", [SUBDOMAIN], id="subdomain-leading-dash"),
    pytest.param(is_dns1123_label, "a" * 64, ["must be no more than 63 characters"], id="label-too-long"),
    pytest.param(is_dns1123_label, "a.b", ["must not contain dots"], id="label-dots"),
    pytest.param(is_dns1123_label, "my-name", [], id="label-ok"),
])
def test_name_syntax(fn: Callable[[str], list[str]], value: str, want: list[str]) -> None:
    assert fn(value) == want


def test_unknown_kind_is_not_validated() -> None:
    assert validate({"kind": "Widget", "metadata": {}}) == []
