/**
 * What to tell someone whose manifest holds a kind Gouvernail does not serve: one it will never run
 * (a custom resource for another controller, an extension of the API server, a cloud's resource),
 * or one it does not know at all.
 */

/** Kinds that extend or configure a Kubernetes API server, which Gouvernail's is not built to take. */
const apiServerKinds = new Set(['CustomResourceDefinition', 'APIService', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'FlowSchema', 'PriorityLevelConfiguration', 'RuntimeClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'CertificateSigningRequest']);

/** API groups of Kubernetes itself: a kind in one of them is not a custom resource. */
const kubernetesGroups = /^(|apps|batch|autoscaling|policy|networking\.k8s\.io|storage\.k8s\.io|discovery\.k8s\.io|scheduling\.k8s\.io|rbac\.authorization\.k8s\.io|apiextensions\.k8s\.io|apiregistration\.k8s\.io|admissionregistration\.k8s\.io|flowcontrol\.apiserver\.k8s\.io|node\.k8s\.io|certificates\.k8s\.io|coordination\.k8s\.io|events\.k8s\.io|metrics\.k8s\.io)$/;

/** Controllers people install for the custom resources seen most, to name in the message. */
const knownOwners: Array<[RegExp, string]> = [
  [/(^|\.)fluxcd\.io$/, 'Flux'],
  [/^argoproj\.io$/, 'Argo CD or Argo Workflows (Gouvernail\'s own Application is gouvernail.io/v1)'],
  [/^cert-manager\.io$|^acme\.cert-manager\.io$/, 'cert-manager'],
  [/^monitoring\.coreos\.com$/, 'the Prometheus operator'],
  [/^traefik\.(io|containo\.us)$/, 'Traefik'],
  [/^(networking|security)\.istio\.io$/, 'Istio'],
  [/^keda\.sh$/, 'KEDA'],
  [/^snapshot\.storage\.k8s\.io$/, 'a CSI snapshot controller'],
  [/(^|\.)(aws|amazon|gcp|google|azure|microsoft)\w*\.\w+/, 'a cloud provider\'s controller'],
];

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** The message for an unknown kind, saying which of the two it is and what to do. */
export function unknownKindMessage(apiVersion: string, kind: string, known: string): string {
  const group = groupOf(apiVersion);
  if (apiServerKinds.has(kind) && kubernetesGroups.test(group)) {
    return `unknown kind ${JSON.stringify(kind)} (${apiVersion}): it extends or configures a Kubernetes API server, which Gouvernail will never apply; drop it from the source (a kustomize patch with $patch: delete does)`;
  }
  if (!kubernetesGroups.test(group)) {
    const owner = knownOwners.find(([re]) => re.test(group))?.[1];
    return `unknown kind ${JSON.stringify(kind)} (${apiVersion}): a custom resource${owner ? ` of ${owner}` : ''}; no controller for it runs on Docker, so Gouvernail will never apply it; drop it from the source`;
  }
  return `unknown kind ${JSON.stringify(kind)}; Gouvernail knows ${known}`;
}
