// Checks every manifest in a folder against the Kubernetes OpenAPI schemas (kubernetes-models), offline:
//   node check-k8s.mjs ../k8s
// Prints one line per object and exits non-zero on an unknown kind, a schema error, or a broken reference
// between the objects (a Deployment's service account, a Service's selector, an HPA's target).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const folder = process.argv[2] ?? "../k8s";
const groupFolder = (apiVersion) => {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  return group === "" ? version : `${group}/${version}`;
};

const objects = [];
let failures = 0;
for (const file of readdirSync(folder).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort()) {
  for (const doc of parseAllDocuments(readFileSync(join(folder, file), "utf8"))) {
    if (doc.errors.length > 0) {
      console.log(`FAIL ${file}: ${doc.errors[0].message}`);
      failures++;
      continue;
    }
    const data = doc.toJS();
    if (data == null) continue;
    const where = `${file}: ${data.kind}/${data.metadata?.name}`;
    let Model;
    try {
      Model = (await import(`kubernetes-models/${groupFolder(data.apiVersion)}/${data.kind}`))[data.kind];
    } catch {
      console.log(`FAIL ${where}: unknown apiVersion/kind ${data.apiVersion} ${data.kind}`);
      failures++;
      continue;
    }
    try {
      new Model(data).validate();
      objects.push(data);
      console.log(`ok   ${where}`);
    } catch (e) {
      console.log(`FAIL ${where}: ${e.message}`);
      failures++;
    }
  }
}

const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
const requireRef = (ok, message) => {
  if (!ok) {
    console.log(`FAIL ${message}`);
    failures++;
  }
};
for (const o of objects) {
  if (o.kind === "Deployment") {
    const pod = o.spec.template;
    const labels = pod.metadata?.labels ?? {};
    requireRef(Object.entries(o.spec.selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v), `Deployment/${o.metadata.name}: selector does not match its pod labels`);
    const account = pod.spec.serviceAccountName;
    requireRef(!account || find("ServiceAccount", account), `Deployment/${o.metadata.name}: no ServiceAccount ${account}`);
    for (const c of pod.spec.containers) {
      for (const e of c.env ?? []) {
        const secret = e.valueFrom?.secretKeyRef?.name;
        requireRef(!secret || secret === "agents-postgres", `Deployment/${o.metadata.name}: unexpected Secret ${secret}`);
      }
    }
  }
  if (o.kind === "Service") {
    const targets = objects.filter((d) => d.kind === "Deployment" && Object.entries(o.spec.selector).every(([k, v]) => d.spec.template.metadata.labels?.[k] === v));
    requireRef(targets.length > 0, `Service/${o.metadata.name}: its selector matches no Deployment's pods`);
    for (const p of o.spec.ports) {
      requireRef(targets.every((d) => d.spec.template.spec.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort))),
        `Service/${o.metadata.name}: target port ${p.targetPort} is not a container port`);
    }
  }
  if (o.kind === "HorizontalPodAutoscaler") {
    requireRef(find(o.spec.scaleTargetRef.kind, o.spec.scaleTargetRef.name), `HorizontalPodAutoscaler/${o.metadata.name}: no ${o.spec.scaleTargetRef.kind} ${o.spec.scaleTargetRef.name}`);
  }
  if (o.kind === "RoleBinding") {
    requireRef(find(o.roleRef.kind, o.roleRef.name), `RoleBinding/${o.metadata.name}: no ${o.roleRef.kind} ${o.roleRef.name}`);
    for (const s of o.subjects) requireRef(find(s.kind, s.name), `RoleBinding/${o.metadata.name}: no ${s.kind} ${s.name}`);
  }
}

// The kustomization names files that exist and hold objects (the Secret's example is left out on purpose).
try {
  const kustomization = parseAllDocuments(readFileSync(join(folder, "kustomization.yaml"), "utf8"))[0].toJS();
  for (const r of kustomization.resources ?? []) {
    requireRef(readdirSync(folder).includes(r), `kustomization: ${r} does not exist`);
  }
  console.log(`kustomization: ${(kustomization.resources ?? []).join(", ")}`);
} catch (e) {
  console.log(`FAIL kustomization.yaml: ${e.message}`);
  failures++;
}

console.log(`${objects.length} objects valid, ${failures} failures`);
process.exit(failures === 0 && objects.length > 0 ? 0 : 1);
