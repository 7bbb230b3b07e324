// Checks the Kubernetes manifests of deploy/kubernetes (run by tests/deploy/check_kubernetes.sh,
// which installs this directory's package-lock.json into the build tree):
//
//  1. kustomization.yaml lists exactly the manifest files of the directory;
//  2. every YAML document (parsed as kubectl does: YAML 1.1, unique keys) is a kind the
//     Kubernetes OpenAPI schemas (kubernetes-models) or the Prometheus Operator's CRD schemas
//     (@kubernetes-models/prometheus-operator) define, and validates against it (validate());
//     an unknown apiVersion/kind is an error;
//  3. no document has a field its schema does not define (a misspelt field): the OpenAPI
//     schemas allow unknown fields, so each document is also type-checked by the TypeScript
//     compiler as an object literal of the model's declared type, whose excess-property
//     check rejects any unknown field at any depth;
//  4. what no schema can say: every container arg and REGISTRY_* / STATS_* / OBSERVERCTL_*
//     variable is one the binary's --help lists; listen ports match the declared container
//     ports; probes point at declared container ports; selectors of Deployments, Services,
//     PodDisruptionBudgets, NetworkPolicies and ServiceMonitors match what they must; Services'
//     targetPorts exist; the grace period outlasts the drain and shutdown timeout; the security
//     context is restricted; files named by flags are in mounted volumes; every Secret and
//     ConfigMap referenced is defined here or documented in deploy/kubernetes/README.md.
//
// Every problem is printed as "FILE:LINE: KIND NAME: PATH: what is wrong"; the exit code is 1
// if there was any, 2 for a usage or installation error.
//
//   node check.mjs --modules DIR/node_modules --manifests deploy/kubernetes \
//     --registry-service BIN --stats-service BIN --observerctl BIN [--dockerfile FILE]
//     [--prometheus-config FILE]
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

// ---- Arguments and the installed packages.
const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i];
  if (!name.startsWith("--") || i + 1 >= process.argv.length) {
    console.error(`check_kubernetes: usage: unexpected argument ${name}`);
    process.exit(2);
  }
  args[name.slice(2)] = process.argv[i + 1];
}
for (const required of [
  "modules",
  "manifests",
  "registry-service",
  "stats-service",
  "observerctl",
]) {
  if (!args[required]) {
    console.error(`check_kubernetes: usage: --${required} is required`);
    process.exit(2);
  }
}
const modulesDir = path.resolve(args.modules);
const manifestsDir = path.resolve(args.manifests);
const repoRoot = path.resolve(manifestsDir, "..", "..");
const requireFromModules = createRequire(path.join(modulesDir, "check-kubernetes.cjs"));
let YAML;
let ts;
try {
  YAML = requireFromModules("yaml");
  ts = requireFromModules("typescript");
} catch (e) {
  console.error(`check_kubernetes: cannot load the npm packages from ${modulesDir}: ${e.message}`);
  process.exit(2);
}

const problems = [];
const rel = (file) => path.relative(repoRoot, file);
function fail(where, message) {
  const text = `${where}: ${message}`;
  if (!problems.includes(text)) {
    problems.push(text);
    console.error(`check_kubernetes: FAIL: ${text}`);
  }
}

// ---- The binaries' --help: the flags and variables each really has.
const BINARIES = {
  "registry-service": args["registry-service"],
  "stats-service": args["stats-service"],
  observerctl: args.observerctl,
};
const helps = {};
for (const [name, binary] of Object.entries(BINARIES)) {
  try {
    helps[name] = execFileSync(binary, ["--help"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    console.error(`check_kubernetes: ${binary} --help failed: ${e.message}`);
    process.exit(2);
  }
}
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const helpHasFlag = (binary, flag) =>
  new RegExp(`(^|\\s)${escape(flag)}(\\s|=|,|$)`, "m").test(helps[binary]);
const helpHasEnv = (binary, variable) =>
  new RegExp(`\\benv ${escape(variable)}[,;)\\s]`).test(helps[binary]);
function helpDefault(binary, flag) {
  const m = new RegExp(`^\\s*${escape(flag)}\\s+\\(env [A-Z_]+, default "([^"]*)"\\)`, "m").exec(
    helps[binary],
  );
  return m ? m[1] : undefined;
}
const ENV_OWNER = {
  REGISTRY_: "registry-service",
  STATS_: "stats-service",
  OBSERVERCTL_: "observerctl",
};
const envOwner = (name) =>
  Object.entries(ENV_OWNER).find(([prefix]) => name.startsWith(prefix))?.[1];
// The image placeholders of the Deployments, and the binary each image runs.
const IMAGES = { "observer-registry": "registry-service", "observer-stats": "stats-service" };
const SERVICE_ENV_PREFIX = { "registry-service": "REGISTRY_", "stats-service": "STATS_" };

// ---- The manifests: kustomization.yaml and the files it lists.
const kustomizationPath = path.join(manifestsDir, "kustomization.yaml");
const lineCounters = new Map();

function parseFile(file) {
  const text = fs.readFileSync(file, "utf8");
  const lineCounter = new YAML.LineCounter();
  lineCounters.set(file, lineCounter);
  // kubectl reads YAML 1.1 (0440 is octal, yes/no are booleans): so do we.
  const docs = YAML.parseAllDocuments(text, {
    version: "1.1",
    lineCounter,
    uniqueKeys: true,
    prettyErrors: true,
  });
  const result = [];
  docs.forEach((doc, index) => {
    for (const error of [...doc.errors, ...doc.warnings]) {
      const line = error.linePos?.[0]?.line ?? "?";
      fail(`${rel(file)}:${line}`, `YAML: ${error.message.split("\n")[0].replace(/:$/, "")}`);
    }
    if (doc.errors.length > 0) return;
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // an empty document (e.g. after a last ---)
    result.push({ file, index, doc, value });
  });
  return result;
}

// "FILE:LINE: KIND NAME" for a path inside a document (the line of the deepest node found).
function where(entry, pathParts = []) {
  let line = 1;
  const lc = lineCounters.get(entry.file);
  for (let n = pathParts.length; n >= 0; n--) {
    const node = entry.doc.getIn(pathParts.slice(0, n), true);
    if (node && node.range) {
      line = lc.linePos(node.range[0]).line;
      break;
    }
  }
  const v = entry.value || {};
  const what = `${v.kind ?? "?"} ${v.metadata?.name ?? "?"}`;
  const p = pathParts.length ? `: ${formatPath(pathParts)}` : "";
  return `${rel(entry.file)}:${line}: ${what}${p}`;
}
function formatPath(parts) {
  return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

if (!fs.existsSync(kustomizationPath)) {
  fail(rel(kustomizationPath), "missing");
  finish();
}
const [kustomizationEntry] = parseFile(kustomizationPath);
const kustomization = kustomizationEntry?.value ?? {};
const KUSTOMIZATION_KEYS = new Set([
  "apiVersion",
  "kind",
  "namespace",
  "resources",
  "images",
  "labels",
  "commonAnnotations",
]);
for (const key of Object.keys(kustomization)) {
  if (!KUSTOMIZATION_KEYS.has(key))
    fail(
      where(kustomizationEntry, [key]),
      `unexpected key (this check knows ${[...KUSTOMIZATION_KEYS].join(", ")})`,
    );
}
if (
  kustomization.apiVersion !== "kustomize.config.k8s.io/v1beta1" ||
  kustomization.kind !== "Kustomization"
) {
  fail(where(kustomizationEntry), "not a kustomize.config.k8s.io/v1beta1 Kustomization");
}
const namespace = kustomization.namespace;
const listed = kustomization.resources ?? [];
const onDisk = fs
  .readdirSync(manifestsDir)
  .filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml")
  .sort();
for (const f of onDisk) {
  if (!listed.includes(f))
    fail(
      rel(path.join(manifestsDir, f)),
      "not listed in kustomization.yaml's resources (kubectl apply -k would leave it out)",
    );
}
listed.forEach((f, i) => {
  if (!onDisk.includes(f))
    fail(
      where(kustomizationEntry, ["resources", i]),
      `${f} is not a manifest file of ${rel(manifestsDir)}`,
    );
});
const imageOverrides = new Map((kustomization.images ?? []).map((image) => [image.name, image]));
for (const name of Object.keys(IMAGES)) {
  if (!imageOverrides.has(name))
    fail(where(kustomizationEntry, ["images"]), `no images: entry for the placeholder ${name}`);
}

const entries = [];
for (const f of listed.filter((f) => onDisk.includes(f)))
  entries.push(...parseFile(path.join(manifestsDir, f)));

// ---- 2. The schemas: the model class of each apiVersion/kind, and validate().
function modelModule(apiVersion) {
  if (apiVersion === "monitoring.coreos.com/v1")
    return "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion ?? "")) return null;
  return `kubernetes-models/${apiVersion}`;
}
for (const entry of entries) {
  if (typeof entry.value !== "object" || Array.isArray(entry.value)) {
    fail(where(entry), "not a Kubernetes object");
    continue;
  }
  const { apiVersion, kind } = entry.value;
  const moduleName = modelModule(apiVersion);
  let Model;
  try {
    Model = moduleName && requireFromModules(moduleName)[kind];
  } catch {
    Model = undefined;
  }
  // A resource's model sets its own apiVersion and kind (DeploymentSpec, say, is no resource).
  let resource = false;
  try {
    const probe = typeof Model === "function" ? new Model({}) : undefined;
    resource = probe?.apiVersion === apiVersion && probe?.kind === kind;
  } catch {
    resource = false;
  }
  if (!resource || typeof kind !== "string") {
    fail(
      where(entry, ["kind"]),
      `unknown apiVersion/kind ${apiVersion}/${kind}: no schema to validate it against`,
    );
    continue;
  }
  entry.moduleName = moduleName;
  try {
    new Model(entry.value).validate();
  } catch (e) {
    const errors = e.errors ?? [{ instancePath: "", message: e.message }];
    for (const error of errors) {
      const parts = error.instancePath
        .split("/")
        .slice(1)
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, "/").replace(/~0/g, "~")));
      let detail = error.message;
      if (error.params?.allowedValues) detail += ` (${error.params.allowedValues.join(", ")})`;
      if (error.params?.missingProperty)
        detail = `required field ${error.params.missingProperty} is missing`;
      fail(where(entry, parts), `schema: ${detail}`);
    }
  }
}

// ---- 3. Unknown fields: each document as an object literal of its model's declared type.
function strictTypeCheck() {
  const typed = entries.filter((e) => e.moduleName);
  if (typed.length === 0) return;
  const lines = [];
  const lineInfo = []; // line index → {entry, path}
  typed.forEach((entry, i) => {
    const { kind } = entry.value;
    lines.push(
      `import type { I${kind} as T${i} } from ${JSON.stringify(`${entry.moduleName}/${kind}`)};`,
    );
    lineInfo.push(null);
  });
  const emit = (text, entry, parts) => {
    lines.push(text);
    lineInfo.push({ entry, parts });
  };
  const literal = (value, entry, parts, indent, prefix, suffix) => {
    const pad = "  ".repeat(indent);
    if (Array.isArray(value)) {
      emit(`${pad}${prefix}[`, entry, parts);
      value.forEach((v, i) => literal(v, entry, [...parts, i], indent + 1, "", ","));
      emit(`${pad}]${suffix}`, entry, parts);
    } else if (value !== null && typeof value === "object") {
      emit(`${pad}${prefix}{`, entry, parts);
      for (const [k, v] of Object.entries(value))
        literal(v, entry, [...parts, k], indent + 1, `${JSON.stringify(k)}: `, ",");
      emit(`${pad}}${suffix}`, entry, parts);
    } else {
      emit(`${pad}${prefix}${JSON.stringify(value) ?? "undefined"}${suffix}`, entry, parts);
    }
  };
  typed.forEach((entry, i) =>
    literal(entry.value, entry, [], 0, `export const d${i}: T${i} = `, ";"),
  );
  // The virtual file sits beside node_modules, so that the imports resolve there.
  const fileName = path.join(path.dirname(modulesDir), "__check_kubernetes__.ts");
  const source = lines.join("\n");
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10 ?? ts.ModuleResolutionKind.NodeJs,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    path.resolve(name) === fileName
      ? ts.createSourceFile(name, source, languageVersion, true)
      : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (path.resolve(name) === fileName ? source : readFile(name));
  const program = ts.createProgram([fileName], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  for (const d of diagnostics) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (!d.file || path.resolve(d.file.fileName) !== fileName || d.start === undefined) {
      fail("check.mjs", `TypeScript: ${text}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const info = lineInfo[line];
    if (!info) {
      fail("check.mjs", `TypeScript (imports): ${text}`);
      continue;
    }
    // The last sentence names the field ("... and '"replica"' does not exist in type ...").
    const sentences = text.split(/(?<=\.)\s+(?=[A-Z])/);
    const excess = sentences.find((s) =>
      s.startsWith("Object literal may only specify known properties"),
    );
    // An inline type (CRD models) is spelt out in full: keep its start.
    const shorten = (sentence) =>
      sentence.replace(/in type '(.{60}).{20,}'\.$/s, "in type '$1...'.");
    fail(
      where(info.entry, info.parts),
      excess
        ? `unknown field: ${shorten(excess)}`
        : `type: ${shorten(sentences[sentences.length - 1])}`,
    );
  }
}
strictTypeCheck();

// ---- 4. What the schemas cannot say.
const objects = entries.filter((e) => typeof e.value === "object" && e.value !== null);
const ofKind = (kind) => objects.filter((e) => e.value.kind === kind);
const labelsMatch = (selector, labels) => {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels?.[k] !== v) return false;
  for (const expr of selector.matchExpressions ?? []) {
    const has = labels && Object.prototype.hasOwnProperty.call(labels, expr.key);
    const value = labels?.[expr.key];
    if (expr.operator === "In" && !(has && expr.values.includes(value))) return false;
    if (expr.operator === "NotIn" && has && expr.values.includes(value)) return false;
    if (expr.operator === "Exists" && !has) return false;
    if (expr.operator === "DoesNotExist" && has) return false;
  }
  return true;
};
const readme = fs.existsSync(path.join(manifestsDir, "README.md"))
  ? fs.readFileSync(path.join(manifestsDir, "README.md"), "utf8")
  : "";
if (!readme) fail(rel(path.join(manifestsDir, "README.md")), "missing");
// A Secret's key is documented when one line of the README names both (the table of Secrets).
const word = (w) => new RegExp(`(^|[^A-Za-z0-9_.-])${escape(w)}([^A-Za-z0-9_.-]|$)`);
const documented = (secret, key) =>
  readme
    .split("\n")
    .some((line) => word(secret).test(line) && (key === undefined || word(key).test(line)));

// Namespaced objects are in the kustomization's namespace.
const CLUSTER_SCOPED = new Set(["Namespace"]);
for (const e of objects) {
  if (!e.value.metadata?.name) continue;
  if (CLUSTER_SCOPED.has(e.value.kind)) {
    if (e.value.kind === "Namespace" && e.value.metadata.name !== namespace)
      fail(
        where(e, ["metadata", "name"]),
        `the namespace is not kustomization.yaml's ${namespace}`,
      );
  } else if (e.value.metadata.namespace !== namespace) {
    fail(
      where(e, ["metadata", "namespace"]),
      `namespace ${e.value.metadata.namespace} is not kustomization.yaml's ${namespace}`,
    );
  }
}
if (!ofKind("Namespace").length) fail(rel(manifestsDir), `no Namespace ${namespace}`);

// ConfigMaps defined here, and their keys.
const configMaps = new Map(ofKind("ConfigMap").map((e) => [e.value.metadata.name, e]));
const SERVICES = ["observer.registry.v1.RegistryService", "observer.stats.v1.StatsService"];
for (const e of configMaps.values()) {
  for (const [key, value] of Object.entries(e.value.data ?? {})) {
    if (!key.endsWith(".json")) continue;
    let json;
    try {
      json = JSON.parse(value);
    } catch (err) {
      fail(where(e, ["data", key]), `not valid JSON: ${err.message}`);
      continue;
    }
    if (key !== "policy.json") continue;
    // The authorization policy (README "The policy file"): rules name defined roles and the
    // services' methods. (The services check the rest when they load it.)
    const roles = new Set((json.roles ?? []).map((r) => r.name));
    for (const list of ["deny_rules", "allow_rules"]) {
      for (const rule of json[list] ?? []) {
        for (const role of rule.source?.roles ?? []) {
          if (!roles.has(role))
            fail(where(e, ["data", key]), `${list} ${rule.name}: role ${role} is not in "roles"`);
        }
        for (const p of rule.request?.paths ?? []) {
          if (!SERVICES.some((service) => p.startsWith(`/${service}/`)))
            fail(
              where(e, ["data", key]),
              `${list} ${rule.name}: path ${p} is not a method of ${SERVICES.join(" or ")}`,
            );
        }
      }
    }
    if (
      !(json.allow_rules ?? []).some((rule) =>
        (rule.request?.paths ?? []).includes("/observer.registry.v1.RegistryService/Watch"),
      )
    ) {
      fail(where(e, ["data", key]), "no allow rule lets stats-service Watch the registry");
    }
  }
}

// The image's USER (the Dockerfile's runtime stage), which the numeric runAsUser must be.
let imageUser;
const dockerfile = args.dockerfile ?? path.join(repoRoot, "deploy", "docker", "Dockerfile");
if (fs.existsSync(dockerfile)) {
  const m = /^USER\s+(\d+)(?::(\d+))?\s*$/m.exec(fs.readFileSync(dockerfile, "utf8"));
  if (m) imageUser = { uid: Number(m[1]), gid: m[2] === undefined ? undefined : Number(m[2]) };
}

function seconds(duration) {
  const units = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
  const parts = [...String(duration).matchAll(/(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== String(duration).trim())
    return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
}
function splitAddress(address) {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address ?? "");
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}
const podTemplates = []; // {entry, labels, spec, base}
const FILE_FLAGS = ["--tls-cert", "--tls-key", "--tls-ca", "--authz-policy", "--audit-key-file"];

function checkProbePort(e, base, container, probeName) {
  const probe = container[probeName];
  if (!probe) return;
  const ports = container.ports ?? [];
  const handler = probe.grpc
    ? "grpc"
    : probe.httpGet
      ? "httpGet"
      : probe.tcpSocket
        ? "tcpSocket"
        : undefined;
  if (!handler) return;
  const port = probe[handler].port;
  const found =
    typeof port === "number"
      ? ports.some((p) => p.containerPort === port)
      : ports.some((p) => p.name === port);
  if (!found)
    fail(
      where(e, [...base, probeName, handler, "port"]),
      `${probeName} port ${port} is not a containerPort of ${container.name} (${ports.map((p) => `${p.name}=${p.containerPort}`).join(", ")})`,
    );
  // The kubelet's grpc probes speak plaintext: only the health-only port (--health-listen)
  // answers them; the grpc port requires a client certificate.
  const health = ports.find((p) => p.name === "health");
  if (handler === "grpc" && found && (!health || health.containerPort !== port)) {
    fail(
      where(e, [...base, probeName, "grpc", "port"]),
      `${probeName} is a grpc probe of port ${port}, not of the plaintext health-only port (containerPort health, --health-listen): the kubelet cannot present a client certificate`,
    );
  }
}

for (const e of ofKind("Deployment")) {
  const spec = e.value.spec ?? {};
  const template = spec.template ?? {};
  const labels = template.metadata?.labels ?? {};
  podTemplates.push({ entry: e, labels, spec: template.spec ?? {}, replicas: spec.replicas ?? 1 });
  if (!labelsMatch(spec.selector, labels))
    fail(where(e, ["spec", "selector"]), "the selector does not match the pod template's labels");
  const pod = template.spec ?? {};
  const podBase = ["spec", "template", "spec"];
  const podSecurity = pod.securityContext ?? {};
  if (pod.automountServiceAccountToken !== false)
    fail(
      where(e, [...podBase]),
      "automountServiceAccountToken is not false (neither service calls the API server)",
    );
  if (pod.enableServiceLinks !== false)
    fail(
      where(e, [...podBase]),
      "enableServiceLinks is not false: Services' *_PORT variables could collide with the REGISTRY_*/STATS_* settings",
    );
  if (
    pod.serviceAccountName &&
    !ofKind("ServiceAccount").some((s) => s.value.metadata.name === pod.serviceAccountName)
  ) {
    fail(
      where(e, [...podBase, "serviceAccountName"]),
      `ServiceAccount ${pod.serviceAccountName} is not defined here`,
    );
  }
  if (
    !pod.topologySpreadConstraints?.some(
      (c) => c.topologyKey === "kubernetes.io/hostname" && labelsMatch(c.labelSelector, labels),
    ) &&
    !pod.affinity?.podAntiAffinity
  ) {
    fail(
      where(e, podBase),
      "replicas are not spread across nodes (no topologySpreadConstraints on kubernetes.io/hostname matching the pods, no podAntiAffinity)",
    );
  }
  for (const [i, c] of (pod.topologySpreadConstraints ?? []).entries()) {
    if (!labelsMatch(c.labelSelector, labels))
      fail(
        where(e, [...podBase, "topologySpreadConstraints", i, "labelSelector"]),
        "does not match the pod template's labels",
      );
  }
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  const mountedVolumes = new Set();
  (pod.containers ?? []).forEach((container, ci) => {
    const base = [...podBase, "containers", ci];
    const binary = IMAGES[container.image];
    if (!binary) {
      fail(
        where(e, [...base, "image"]),
        `image ${container.image} is not one of the placeholders ${Object.keys(IMAGES).join(", ")} (kustomization.yaml's images: sets the real one)`,
      );
      for (const m of container.volumeMounts ?? []) mountedVolumes.add(m.name);
      return;
    }
    if (container.command)
      fail(
        where(e, [...base, "command"]),
        `command replaces the image's ENTRYPOINT (/usr/local/bin/${binary}): give args only`,
      );
    // Flags: --name=value or --name value; each a flag of the binary.
    const flags = new Map();
    const argv = container.args ?? [];
    for (let i = 0; i < argv.length; i++) {
      const arg = String(argv[i]);
      if (!arg.startsWith("--")) {
        fail(where(e, [...base, "args", i]), `${arg}: not a --flag (or the value of one)`);
        continue;
      }
      let [flag, value] = arg.includes("=")
        ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
        : [arg, undefined];
      if (value === undefined && i + 1 < argv.length && !String(argv[i + 1]).startsWith("--"))
        value = String(argv[++i]);
      if (!helpHasFlag(binary, flag))
        fail(
          where(e, [...base, "args", i]),
          `${flag} is not a flag of ${binary} (${binary} --help)`,
        );
      if (flags.has(flag)) fail(where(e, [...base, "args", i]), `${flag} is given twice`);
      flags.set(flag, { value, index: i });
    }
    const prefix = SERVICE_ENV_PREFIX[binary];
    const env = new Map();
    (container.env ?? []).forEach((variable, vi) => {
      const owner = envOwner(variable.name);
      if (owner && !helpHasEnv(owner, variable.name))
        fail(
          where(e, [...base, "env", vi, "name"]),
          `${variable.name} is not a variable \`${owner} --help\` lists (misspelt?)`,
        );
      if (owner && owner !== binary && owner !== "observerctl")
        fail(
          where(e, [...base, "env", vi, "name"]),
          `${variable.name} is for ${owner}, but this container runs ${binary}`,
        );
      env.set(variable.name, { variable, index: vi });
    });
    if (container.envFrom)
      fail(
        where(e, [...base, "envFrom"]),
        "envFrom: every variable must be named (and checked against --help)",
      );
    // A flag's effective value: the arg, else the variable, else the default of --help.
    const effective = (flag) => {
      if (flags.has(flag)) return flags.get(flag).value;
      const variable = prefix + flag.slice(2).toUpperCase().replace(/-/g, "_");
      if (env.has(variable)) return env.get(variable).variable.value ?? "(from a reference)";
      return helpDefault(binary, flag);
    };
    // Listening: on every interface, on the declared container ports.
    const ports = container.ports ?? [];
    for (const [flag, portName] of [
      ["--listen", "grpc"],
      ["--metrics-listen", "metrics"],
      ["--health-listen", "health"],
    ]) {
      const address = splitAddress(effective(flag));
      const declared = ports.find((p) => p.name === portName);
      if (!address) {
        fail(
          where(e, [...base, "args"]),
          `${flag} is ${JSON.stringify(effective(flag))}, not HOST:PORT`,
        );
        continue;
      }
      if (/^(127\.|localhost$|::1$)/.test(address.host))
        fail(
          where(e, [...base, "args"]),
          `${flag} ${effective(flag)} is a loopback address: unreachable from outside the pod`,
        );
      if (!declared)
        fail(where(e, [...base, "ports"]), `no containerPort named ${portName} (${flag})`);
      else if (declared.containerPort !== address.port)
        fail(
          where(e, [...base, "ports"]),
          `containerPort ${portName} is ${declared.containerPort}, but ${flag} listens on ${address.port}`,
        );
    }
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"])
      checkProbePort(e, base, container, probe);
    if (!container.readinessProbe) fail(where(e, base), "no readinessProbe");
    if (!container.livenessProbe) fail(where(e, base), "no livenessProbe");
    if (container.readinessProbe && !container.readinessProbe.grpc)
      fail(
        where(e, [...base, "readinessProbe"]),
        "readiness is not a grpc probe of the health-only port",
      );
    // Stopping: the grace period outlasts the drain, the shutdown timeout and the metrics stop.
    const drain = seconds(effective("--drain-period"));
    const shutdown = seconds(effective("--shutdown-timeout"));
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    if (drain === undefined || shutdown === undefined)
      fail(where(e, [...base, "args"]), "cannot read --drain-period / --shutdown-timeout");
    else if (grace <= drain + shutdown + 2) {
      fail(
        where(e, [...podBase, "terminationGracePeriodSeconds"]),
        `${grace}s is not above --drain-period ${drain}s + --shutdown-timeout ${shutdown}s + 2s (the metrics endpoint's stop): the kubelet would SIGKILL the service mid-stop`,
      );
    }
    // stats-service follows the registry Service, on its grpc port.
    if (binary === "stats-service") {
      const address = splitAddress(effective("--registry"));
      const service =
        address &&
        ofKind("Service").find((s) => {
          const n = s.value.metadata.name;
          const ns = s.value.metadata.namespace;
          return [n, `${n}.${ns}`, `${n}.${ns}.svc`, `${n}.${ns}.svc.cluster.local`].includes(
            address.host,
          );
        });
      if (!service)
        fail(
          where(e, [...base, "args"]),
          `--registry ${effective("--registry")} is not the address of a Service defined here`,
        );
      else if (
        !(service.value.spec.ports ?? []).some((p) => p.name === "grpc" && p.port === address.port)
      ) {
        fail(
          where(e, [...base, "args"]),
          `--registry port ${address.port} is not the grpc port of Service ${service.value.metadata.name}`,
        );
      } else if (
        !ofKind("Deployment").some(
          (d) =>
            (d.value.spec?.template?.spec?.containers ?? []).some(
              (c) => IMAGES[c.image] === "registry-service",
            ) &&
            labelsMatch(
              { matchLabels: service.value.spec.selector },
              d.value.spec.template.metadata?.labels,
            ),
        )
      ) {
        fail(
          where(e, [...base, "args"]),
          `--registry: Service ${service.value.metadata.name} does not select the registry-service pods`,
        );
      }
    }
    // Security: restricted.
    const sc = container.securityContext ?? {};
    const scWhere = where(e, [...base, "securityContext"]);
    if ((sc.runAsNonRoot ?? podSecurity.runAsNonRoot) !== true)
      fail(scWhere, "runAsNonRoot is not true");
    const uid = sc.runAsUser ?? podSecurity.runAsUser;
    if (typeof uid !== "number" || uid === 0)
      fail(scWhere, "runAsUser is not a numeric non-root user");
    else if (imageUser && uid !== imageUser.uid)
      fail(
        scWhere,
        `runAsUser ${uid} is not the image's USER ${imageUser.uid} (deploy/docker/Dockerfile)`,
      );
    if (sc.readOnlyRootFilesystem !== true) fail(scWhere, "readOnlyRootFilesystem is not true");
    if (sc.allowPrivilegeEscalation !== false)
      fail(scWhere, "allowPrivilegeEscalation is not false");
    if (!(sc.capabilities?.drop ?? []).includes("ALL"))
      fail(scWhere, "capabilities.drop does not include ALL");
    if (sc.capabilities?.add?.length) fail(scWhere, "capabilities.add is not empty");
    if ((sc.seccompProfile ?? podSecurity.seccompProfile)?.type !== "RuntimeDefault")
      fail(scWhere, "seccompProfile is not RuntimeDefault");
    if (sc.privileged) fail(scWhere, "privileged");
    // Resources: requests and limits of CPU and memory.
    for (const kindOf of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        if (container.resources?.[kindOf]?.[resource] === undefined)
          fail(where(e, [...base, "resources"]), `no ${kindOf}.${resource}`);
      }
    }
    // Mounts, and the files the flags name inside them.
    const mounts = container.volumeMounts ?? [];
    mounts.forEach((m, mi) => {
      if (!volumes.has(m.name))
        fail(where(e, [...base, "volumeMounts", mi, "name"]), `no volume ${m.name}`);
      mountedVolumes.add(m.name);
      if (m.subPath)
        fail(
          where(e, [...base, "volumeMounts", mi, "subPath"]),
          "subPath mounts never see updates: rotated certificates and edited policies would not reach the service",
        );
      const v = volumes.get(m.name);
      if (v && (v.secret || v.configMap) && m.readOnly !== true)
        fail(where(e, [...base, "volumeMounts", mi]), "not readOnly");
    });
    for (const flag of FILE_FLAGS) {
      if (!helpHasFlag(binary, flag)) continue;
      const file = effective(flag);
      if (!file) {
        if (flag !== "--audit-key-file" || binary !== "registry-service")
          fail(where(e, [...base, "args"]), `${flag} is not set`);
        else
          fail(
            where(e, [...base, "args"]),
            "--audit-key-file is not set: each replica would make its own key beside the store",
          );
        continue;
      }
      const mount = mounts.find((m) => file.startsWith(m.mountPath.replace(/\/$/, "") + "/"));
      if (!mount) {
        fail(
          where(e, [...base, "args", flags.get(flag)?.index ?? 0]),
          `${flag} ${file} is not inside a mounted volume`,
        );
        continue;
      }
      const key = file.slice(mount.mountPath.replace(/\/$/, "").length + 1);
      const volume = volumes.get(mount.name);
      const source = volume?.secret ?? volume?.configMap;
      if (!source) {
        fail(
          where(e, [...base, "args", flags.get(flag)?.index ?? 0]),
          `${flag} ${file} is in volume ${mount.name}, which is neither a Secret nor a ConfigMap`,
        );
        continue;
      }
      if (source.items && !source.items.some((item) => item.path === key)) {
        fail(
          where(e, [...base, "args", flags.get(flag)?.index ?? 0]),
          `${flag} ${file}: volume ${mount.name} projects only ${source.items.map((i) => i.path).join(", ")}`,
        );
      }
      const sourceKey = source.items?.find((item) => item.path === key)?.key ?? key;
      if (
        volume.configMap &&
        configMaps.has(volume.configMap.name) &&
        !(sourceKey in (configMaps.get(volume.configMap.name).value.data ?? {}))
      ) {
        fail(
          where(e, [...base, "args", flags.get(flag)?.index ?? 0]),
          `${flag} ${file}: ConfigMap ${volume.configMap.name} has no key ${sourceKey}`,
        );
      }
      if (volume.secret && !documented(volume.secret.secretName, sourceKey)) {
        fail(
          where(e, [...base, "args", flags.get(flag)?.index ?? 0]),
          `${flag} ${file}: the key ${sourceKey} of Secret ${volume.secret.secretName} is not documented in deploy/kubernetes/README.md`,
        );
      }
    }
    // Secret and ConfigMap references of the variables.
    (container.env ?? []).forEach((variable, vi) => {
      const secretRef = variable.valueFrom?.secretKeyRef;
      const configMapRef = variable.valueFrom?.configMapKeyRef;
      if (secretRef && !documented(secretRef.name, secretRef.key)) {
        fail(
          where(e, [...base, "env", vi, "valueFrom"]),
          `Secret ${secretRef.name} (key ${secretRef.key}) is not documented in deploy/kubernetes/README.md`,
        );
      }
      if (configMapRef && !(configMaps.has(configMapRef.name) && documented(configMapRef.name))) {
        fail(
          where(e, [...base, "env", vi, "valueFrom"]),
          `ConfigMap ${configMapRef.name} is not both defined here and documented in deploy/kubernetes/README.md`,
        );
      }
    });
  });
  // Volumes: used, their Secrets documented, their ConfigMaps defined, not readable by others.
  (pod.volumes ?? []).forEach((v, vi) => {
    const vbase = [...podBase, "volumes", vi];
    if (!mountedVolumes.has(v.name))
      fail(where(e, vbase), `volume ${v.name} is mounted by no container`);
    if (v.secret) {
      if (!documented(v.secret.secretName))
        fail(
          where(e, [...vbase, "secret", "secretName"]),
          `Secret ${v.secret.secretName} is not documented in deploy/kubernetes/README.md (how to create it)`,
        );
      for (const item of v.secret.items ?? []) {
        if (!documented(v.secret.secretName, item.key))
          fail(
            where(e, [...vbase, "secret", "items"]),
            `key ${item.key} of Secret ${v.secret.secretName} is not documented in deploy/kubernetes/README.md`,
          );
      }
      const mode = v.secret.defaultMode ?? 0o644;
      if ((mode & 0o007) !== 0)
        fail(
          where(e, [...vbase, "secret", "defaultMode"]),
          `mode 0${mode.toString(8)} lets other users read the Secret's files (the audit key would be refused): use 0440 with fsGroup`,
        );
      if ((mode & 0o040) !== 0 && pod.securityContext?.fsGroup === undefined)
        fail(
          where(e, [...vbase, "secret"]),
          "group-readable Secret files without a pod fsGroup: the service's user cannot read them",
        );
    }
    if (v.configMap) {
      const cm = configMaps.get(v.configMap.name);
      if (!cm)
        fail(
          where(e, [...vbase, "configMap", "name"]),
          `ConfigMap ${v.configMap.name} is not defined here`,
        );
      if (!documented(v.configMap.name))
        fail(
          where(e, [...vbase, "configMap", "name"]),
          `ConfigMap ${v.configMap.name} is not documented in deploy/kubernetes/README.md`,
        );
      for (const item of v.configMap.items ?? []) {
        if (cm && !(item.key in (cm.value.data ?? {})))
          fail(
            where(e, [...vbase, "configMap", "items"]),
            `ConfigMap ${v.configMap.name} has no key ${item.key}`,
          );
      }
    }
  });
}

const podsSelectedBy = (selector) => podTemplates.filter((p) => labelsMatch(selector, p.labels));
const containerPorts = (p) => (p.spec.containers ?? []).flatMap((c) => c.ports ?? []);

// Services: select one Deployment's pods; their targetPorts exist there.
for (const s of ofKind("Service")) {
  const spec = s.value.spec ?? {};
  const pods = podsSelectedBy({ matchLabels: spec.selector });
  if (!spec.selector || pods.length !== 1) {
    fail(
      where(s, ["spec", "selector"]),
      `selects the pods of ${pods.length} Deployments (${pods.map((p) => p.entry.value.metadata.name).join(", ") || "none"}), not one`,
    );
    continue;
  }
  const names = new Set();
  (spec.ports ?? []).forEach((port, i) => {
    if (names.has(port.name))
      fail(where(s, ["spec", "ports", i, "name"]), `port name ${port.name} twice`);
    names.add(port.name);
    const target = port.targetPort ?? port.port;
    const found = containerPorts(pods[0]).find((cp) =>
      typeof target === "number" ? cp.containerPort === target : cp.name === target,
    );
    if (!found)
      fail(
        where(s, ["spec", "ports", i, "targetPort"]),
        `targetPort ${target} is not a containerPort of Deployment ${pods[0].entry.value.metadata.name}`,
      );
    else if (found.name !== port.name)
      fail(
        where(s, ["spec", "ports", i]),
        `port ${port.name} leads to containerPort ${found.name}`,
      );
  });
  for (const required of ["grpc", "metrics", "health"])
    if (!names.has(required)) fail(where(s, ["spec", "ports"]), `no port named ${required}`);
}

// PodDisruptionBudgets: select one Deployment's pods and leave it room to evict.
for (const b of ofKind("PodDisruptionBudget")) {
  const pods = podsSelectedBy(b.value.spec?.selector);
  if (pods.length !== 1) {
    fail(where(b, ["spec", "selector"]), `selects the pods of ${pods.length} Deployments, not one`);
    continue;
  }
  const min = b.value.spec.minAvailable;
  if (typeof min === "number" && min >= pods[0].replicas)
    fail(
      where(b, ["spec", "minAvailable"]),
      `${min} of ${pods[0].replicas} replicas: no pod could ever be evicted (node drains would hang)`,
    );
}
for (const p of podTemplates) {
  if (!ofKind("PodDisruptionBudget").some((b) => labelsMatch(b.value.spec?.selector, p.labels)))
    fail(where(p.entry), "no PodDisruptionBudget selects its pods");
}

// NetworkPolicies: select pods defined here; named ports exist on the pods they name.
const policies = ofKind("NetworkPolicy");
if (
  !policies.some(
    (n) =>
      Object.keys(n.value.spec?.podSelector ?? {}).length === 0 &&
      (n.value.spec.policyTypes ?? []).includes("Ingress") &&
      !(n.value.spec.ingress ?? []).length,
  )
) {
  fail(
    rel(manifestsDir),
    "no default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no rules)",
  );
}
for (const n of policies) {
  const spec = n.value.spec ?? {};
  const selected = Object.keys(spec.podSelector ?? {}).length
    ? podsSelectedBy(spec.podSelector)
    : podTemplates;
  if (!selected.length) fail(where(n, ["spec", "podSelector"]), "selects no pod defined here");
  (spec.ingress ?? []).forEach((rule, ri) => {
    (rule.ports ?? []).forEach((port, pi) => {
      if (
        typeof port.port === "string" &&
        !selected.every((p) => containerPorts(p).some((cp) => cp.name === port.port))
      ) {
        fail(
          where(n, ["spec", "ingress", ri, "ports", pi, "port"]),
          `named port ${port.port} is not a containerPort of every selected pod`,
        );
      }
      if (
        port.port === "health" ||
        selected.some((p) =>
          containerPorts(p).some((cp) => cp.name === "health" && cp.containerPort === port.port),
        )
      ) {
        fail(
          where(n, ["spec", "ingress", ri, "ports", pi, "port"]),
          "admits pods to the plaintext health port: the kubelet's probes need no rule",
        );
      }
    });
    if (!(rule.ports ?? []).length)
      fail(
        where(n, ["spec", "ingress", ri]),
        "admits every port (the plaintext health port too): name the ports",
      );
  });
  (spec.egress ?? []).forEach((rule, ri) => {
    (rule.ports ?? []).forEach((port, pi) => {
      if (typeof port.port !== "string") return;
      const targets = (rule.to ?? [])
        .filter((peer) => peer.podSelector && !peer.namespaceSelector)
        .flatMap((peer) => podsSelectedBy(peer.podSelector));
      if (
        !targets.length ||
        !targets.every((p) => containerPorts(p).some((cp) => cp.name === port.port))
      ) {
        fail(
          where(n, ["spec", "egress", ri, "ports", pi, "port"]),
          `named port ${port.port} is not a containerPort of the pods this rule names`,
        );
      }
    });
  });
}
for (const p of podTemplates) {
  const ports = containerPorts(p).filter((cp) => cp.name === "grpc" || cp.name === "metrics");
  for (const cp of ports) {
    const admitted = policies.some(
      (n) =>
        labelsMatch(n.value.spec?.podSelector, p.labels) &&
        Object.keys(n.value.spec.podSelector).length &&
        (n.value.spec.ingress ?? []).some((rule) =>
          (rule.ports ?? []).some(
            (port) => port.port === cp.name || port.port === cp.containerPort,
          ),
        ),
    );
    if (!admitted)
      fail(
        where(p.entry),
        `no NetworkPolicy admits anyone to its ${cp.name} port (${cp.containerPort})`,
      );
  }
}

// ServiceMonitors: select one Service defined here, scrape its metrics port, with the job
// names the alert rules and the dashboard select on.
let jobNames = ["registry", "stats"];
const prometheusConfig =
  args["prometheus-config"] ?? path.join(repoRoot, "deploy", "prometheus", "prometheus.yml");
if (fs.existsSync(prometheusConfig)) {
  const config = YAML.parse(fs.readFileSync(prometheusConfig, "utf8"));
  jobNames = (config.scrape_configs ?? []).map((j) => j.job_name);
}
const monitoredJobs = new Set();
for (const m of ofKind("ServiceMonitor")) {
  const spec = m.value.spec ?? {};
  const services = ofKind("Service").filter(
    (s) =>
      labelsMatch(spec.selector, s.value.metadata.labels) &&
      (spec.namespaceSelector?.any ||
        (spec.namespaceSelector?.matchNames ?? [m.value.metadata.namespace]).includes(
          s.value.metadata.namespace,
        )),
  );
  if (services.length !== 1) {
    fail(
      where(m, ["spec", "selector"]),
      `selects ${services.length} Services defined here, not one`,
    );
    continue;
  }
  (spec.endpoints ?? []).forEach((endpoint, ei) => {
    if (!(services[0].value.spec.ports ?? []).some((p) => p.name === endpoint.port)) {
      fail(
        where(m, ["spec", "endpoints", ei, "port"]),
        `Service ${services[0].value.metadata.name} has no port named ${endpoint.port}`,
      );
    } else if (endpoint.port !== "metrics") {
      fail(
        where(m, ["spec", "endpoints", ei, "port"]),
        `scrapes port ${endpoint.port}, not metrics`,
      );
    }
    const job = (endpoint.relabelings ?? []).find((r) => r.targetLabel === "job")?.replacement;
    if (!jobNames.includes(job))
      fail(
        where(m, ["spec", "endpoints", ei]),
        `the job label is ${job ?? "(the Service name)"}, not one of ${jobNames.join(", ")} (deploy/prometheus/prometheus.yml: the alert rules and the dashboard select on them)`,
      );
    else monitoredJobs.add(job);
  });
}
for (const job of jobNames)
  if (!monitoredJobs.has(job)) fail(rel(manifestsDir), `no ServiceMonitor scrapes the job ${job}`);

finish();

function finish() {
  if (problems.length) {
    console.error(`check_kubernetes: ${problems.length} problem(s) in ${rel(manifestsDir)}`);
    process.exit(1);
  }
  console.log(
    `check_kubernetes: ${entries.length} objects in ${rel(manifestsDir)} validated (schemas, unknown fields, flags, ports, selectors, references)`,
  );
  process.exit(0);
}
