//! Validate JSON against the ASR swagger definitions (`service.extract.json`) with `jsonschema`.
//!
//! OpenAPI 2 polymorphism is converted: a definition with `discriminator: instanceType` accepts,
//! for each known `x-ms-discriminator-value`, only the matching child definition (validated with
//! its `allOf` parent); unknown discriminator values fall back to the base definition. Refs into
//! `common-types` are stubbed (`ProxyResource` as a small `id/name/type` schema, others `{}`).
//! Extensible enums (`x-ms-enum.modelAsString: true`) accept any string.
//!
//! [`validate`] checks types/required/formats; [`unknown_fields`] additionally reports member
//! names that the definition does not declare (OpenAPI allows extras, so the schema does not).

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// Default location of the extract: `$ASR_SPEC_PATH`, else `tests/reference/specs/asr/2026-11-01/service.extract.json`
/// in this repository.
pub fn default_spec_path() -> PathBuf {
    if let Ok(p) = std::env::var("ASR_SPEC_PATH") {
        return PathBuf::from(p);
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../reference/specs/asr/2026-11-01/service.extract.json"))
}

/// A loaded, converted spec with cached validators.
pub struct Spec {
    /// Converted definitions (what the validators use).
    pub defs: Map<String, Value>,
    /// Original definitions (for [`Spec::unknown_fields`]).
    pub raw: Map<String, Value>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn rewrite_refs(v: &mut Value, common: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && !r.starts_with("#/")
            {
                let name = r.rsplit('/').next().unwrap_or("Unknown").to_string();
                *r = format!("#/definitions/__common_{name}");
                common.push(name);
            }
            let extensible = m.get("x-ms-enum").and_then(|e| e.get("modelAsString")).and_then(Value::as_bool) == Some(true);
            if extensible {
                m.remove("enum");
            }
            m.values_mut().for_each(|x| rewrite_refs(x, common));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_refs(x, common)),
        _ => {}
    }
}

fn parents(d: &Value) -> Vec<String> {
    d.get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.get("$ref").and_then(Value::as_str))
        .filter_map(|r| r.strip_prefix("#/definitions/"))
        .map(str::to_string)
        .collect()
}

impl Spec {
    pub fn load(path: &std::path::Path) -> Result<Spec, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let raw = doc.get("definitions").and_then(Value::as_object).cloned().ok_or("no definitions")?;
        let mut defs = raw.clone();
        let mut common = vec![];
        for v in defs.values_mut() {
            rewrite_refs(v, &mut common);
        }
        for c in common {
            let stub = if c.ends_with("Resource") {
                json!({"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"}, "systemData": {"type": "object"}}})
            } else {
                json!({})
            };
            defs.insert(format!("__common_{c}"), stub);
        }
        // Polymorphic bases and their (transitive) children with discriminator values.
        let bases: Vec<String> = defs.iter().filter(|(_, d)| d.get("discriminator").is_some()).map(|(k, _)| k.clone()).collect();
        let mut children: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (name, d) in &defs {
            let Some(val) = d.get("x-ms-discriminator-value").and_then(Value::as_str) else { continue };
            let mut stack = parents(d);
            let mut seen = 0;
            while let Some(p) = stack.pop() {
                seen += 1;
                if seen > 16 {
                    break;
                }
                if bases.contains(&p) {
                    children.entry(p.clone()).or_default().push((name.clone(), val.to_string()));
                }
                if let Some(pd) = defs.get(&p) {
                    stack.extend(parents(pd));
                }
            }
        }
        for b in &bases {
            let base_ref = format!("#/definitions/{b}");
            let new_ref = format!("#/definitions/{b}__base");
            for d in defs.values_mut() {
                if let Some(Value::Array(all)) = d.get_mut("allOf") {
                    for x in all.iter_mut() {
                        if x.get("$ref").and_then(Value::as_str) == Some(base_ref.as_str()) {
                            x["$ref"] = json!(new_ref);
                        }
                    }
                }
            }
            let mut base = defs[b].clone();
            base.as_object_mut().unwrap().remove("discriminator");
            let kids = children.get(b).cloned().unwrap_or_default();
            let values: Vec<&String> = kids.iter().map(|(_, v)| v).collect();
            let mut any: Vec<Value> = kids.iter().map(|(c, v)| json!({"allOf": [{"properties": {"instanceType": {"enum": [v]}}, "required": ["instanceType"]}, {"$ref": format!("#/definitions/{c}")}]})).collect();
            any.push(json!({"allOf": [{"$ref": new_ref}, {"properties": {"instanceType": {"not": {"enum": values}}}}]}));
            defs.insert(format!("{b}__base"), base);
            defs.insert(b.clone(), json!({"anyOf": any}));
        }
        Ok(Spec { defs, raw, validators: Mutex::new(HashMap::new()) })
    }

    fn validator(&self, name: &str) -> Result<Arc<jsonschema::Validator>, Vec<String>> {
        if let Some(v) = self.validators.lock().unwrap().get(name) {
            return Ok(v.clone());
        }
        if !self.defs.contains_key(name) {
            return Err(vec![format!("unknown definition '{name}'")]);
        }
        let schema = json!({"allOf": [{"$ref": format!("#/definitions/{name}")}], "definitions": self.defs});
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| vec![format!("schema for {name}: {e}")])?;
        let v = Arc::new(v);
        self.validators.lock().unwrap().insert(name.to_string(), v.clone());
        Ok(v)
    }

    /// Validate `value` against definition `name`.
    pub fn validate(&self, name: &str, value: &Value) -> Result<(), Vec<String>> {
        let v = self.validator(name)?;
        let errs: Vec<String> = v.iter_errors(value).map(|e| format!("{}: {e}", e.instance_path())).collect();
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }

    /// Member names in `value` that definition `name` (with `allOf` parents and, for polymorphic
    /// objects, the child matching `instanceType`) does not declare. Paths like `/properties/x`.
    pub fn unknown_fields(&self, name: &str, value: &Value) -> Vec<String> {
        let mut out = vec![];
        self.walk(name, value, "", &mut out);
        out
    }

    fn props_of(&self, name: &str, value: &Value, acc: &mut Map<String, Value>, depth: usize) {
        let Some(d) = self.raw.get(name) else { return };
        if depth > 12 {
            return;
        }
        if d.get("discriminator").is_some()
            && let Some(it) = value.get("instanceType").and_then(Value::as_str)
            && let Some((child, _)) = self
                .raw
                .iter()
                .find(|(k, c)| c.get("x-ms-discriminator-value").and_then(Value::as_str) == Some(it) && self.descends_from(k, name, 0))
            && child != name
        {
            self.props_of(child, value, acc, depth + 1);
        }
        for p in parents(d) {
            self.props_of(&p, value, acc, depth + 1);
        }
        if let Some(Value::Object(ps)) = d.get("properties") {
            for (k, v) in ps {
                acc.insert(k.clone(), v.clone());
            }
        }
    }

    fn descends_from(&self, child: &str, base: &str, depth: usize) -> bool {
        depth < 12 && self.raw.get(child).is_some_and(|d| parents(d).iter().any(|p| p == base || self.descends_from(p, base, depth + 1)))
    }

    fn walk(&self, name: &str, value: &Value, path: &str, out: &mut Vec<String>) {
        let Value::Object(obj) = value else { return };
        let mut props = Map::new();
        self.props_of(name, value, &mut props, 0);
        let is_common = self.raw.get(name).is_some_and(|d| {
            d.get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|x| x.get("$ref").and_then(Value::as_str).is_some_and(|r| !r.starts_with('#')))
        });
        for (k, v) in obj {
            let Some(schema) = props.get(k) else {
                if !(is_common && ["id", "name", "type", "systemData"].contains(&k.as_str())) {
                    out.push(format!("{path}/{k}"));
                }
                continue;
            };
            let sub = format!("{path}/{k}");
            if schema.get("type").and_then(Value::as_str) == Some("object")
                && schema.get("$ref").is_none()
                && schema.get("properties").is_none()
            {
                continue; // free-form map
            }
            if let Some(r) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/definitions/")) {
                self.walk(r, v, &sub, out);
            } else if let (Some(items), Value::Array(arr)) = (schema.get("items"), v)
                && let Some(r) = items.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/definitions/"))
            {
                for (i, x) in arr.iter().enumerate() {
                    self.walk(r, x, &format!("{sub}/{i}"), out);
                }
            }
        }
    }
}

static SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();

/// The spec at [`default_spec_path`], loaded once.
pub fn spec() -> Result<&'static Spec, Vec<String>> {
    SPEC.get_or_init(|| Spec::load(&default_spec_path())).as_ref().map_err(|e| vec![e.clone()])
}

/// The failback extract (`failback.extract.json`, next to the service extract; `$ASR_FAILBACK_SPEC_PATH` overrides).
pub fn failback_spec_path() -> PathBuf {
    if let Ok(p) = std::env::var("ASR_FAILBACK_SPEC_PATH") {
        return PathBuf::from(p);
    }
    default_spec_path().with_file_name("failback.extract.json")
}

static FAILBACK_SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();

/// The spec at [`failback_spec_path`], loaded once.
pub fn failback_spec() -> Result<&'static Spec, Vec<String>> {
    FAILBACK_SPEC.get_or_init(|| Spec::load(&failback_spec_path())).as_ref().map_err(|e| vec![e.clone()])
}

/// [`validate_strict`] against the failback extract (failover, commit and reprotect inputs, recovery plans).
pub fn validate_failback_strict(definition_name: &str, value: &Value) -> Result<(), Vec<String>> {
    let s = failback_spec()?;
    let mut errs = s.validate(definition_name, value).err().unwrap_or_default();
    errs.extend(s.unknown_fields(definition_name, value).into_iter().map(|p| format!("{p}: not declared in {definition_name}")));
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Validate `value` against `definition_name` (e.g. `ReplicationProtectedItem`, `ReverseReplicationInput`).
pub fn validate(definition_name: &str, value: &Value) -> Result<(), Vec<String>> {
    spec()?.validate(definition_name, value)
}

/// [`validate`] plus no undeclared member names.
pub fn validate_strict(definition_name: &str, value: &Value) -> Result<(), Vec<String>> {
    let s = spec()?;
    let mut errs = s.validate(definition_name, value).err().unwrap_or_default();
    errs.extend(s.unknown_fields(definition_name, value).into_iter().map(|p| format!("{p}: not declared in {definition_name}")));
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}
