// Writes one JSON schema per (version, apiVersion, kind) that deploy/k8s
// renders to, from the TypeScript types of the packages in package.json:
//   kubernetes-types@1.29 / 1.30: the Kubernetes API of that release,
//     generated from its OpenAPI document;
//   @kubernetes-models/keda: KEDA's Go API types (keda.sh/v1alpha1).
// ts-json-schema-generator turns an interface into a draft-07 schema with
// additionalProperties false, so an unknown or misspelt field is an error
// (as kubectl's strict validation makes it), not silently dropped.
//
// usage: node gen.mjs OUTDIR  ->  OUTDIR/<version>/<group_version>.<Kind>.json
// and OUTDIR/index.json listing them.
import { createGenerator } from "ts-json-schema-generator";
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const out = process.argv[2];
if (!out) {
	console.error("usage: node gen.mjs OUTDIR");
	process.exit(2);
}

const k8sKinds = [
	["apps/v1.d.ts", "apps/v1", "Deployment"],
	["policy/v1.d.ts", "policy/v1", "PodDisruptionBudget"],
	["core/v1.d.ts", "v1", "ServiceAccount"],
	["core/v1.d.ts", "v1", "ConfigMap"],
	["core/v1.d.ts", "v1", "Secret"],
];
const targets = [];
for (const version of ["1.29", "1.30"])
	for (const [file, apiVersion, kind] of k8sKinds)
		targets.push({ version: `kubernetes-${version}`, file: `node_modules/k8s-${version}/${file}`,
		               type: kind, apiVersion, kind });
const keda = "node_modules/@kubernetes-models/keda/keda.sh/v1alpha1";
for (const kind of ["ScaledObject", "TriggerAuthentication"])
	targets.push({ version: "keda", file: `${keda}/${kind}.d.ts`, type: `I${kind}`,
	               apiVersion: "keda.sh/v1alpha1", kind });

const index = [];
for (const t of targets) {
	const gen = createGenerator({
		path: path.join(here, t.file),
		tsconfig: path.join(here, "tsconfig.json"),
		type: t.type,
		skipTypeCheck: true,
		additionalProperties: false,
	});
	const schema = gen.createSchema(t.type);
	const name = `${t.apiVersion.replace("/", "_")}.${t.kind}.json`;
	fs.mkdirSync(path.join(out, t.version), { recursive: true });
	fs.writeFileSync(path.join(out, t.version, name), JSON.stringify(schema));
	index.push({ version: t.version, apiVersion: t.apiVersion, kind: t.kind,
	             file: path.join(t.version, name) });
}
fs.writeFileSync(path.join(out, "index.json"), JSON.stringify(index, null, 1));
