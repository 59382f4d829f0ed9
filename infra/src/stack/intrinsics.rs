//! CloudFormation's intrinsic functions, resolved against what the local stack made: `Ref` and
//! `Fn::GetAtt` of its resources and parameters (pseudo parameters included), `Fn::Sub`,
//! `Fn::Join`, `Fn::Select`, `Fn::Split`, and the condition functions (`Fn::If`, `Fn::Equals`,
//! `Fn::Not`, `Fn::And`, `Fn::Or`). A value the stack cannot know is an error naming it, so
//! that a function is never started with a half-resolved environment.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use serde_json::{Map, Value};

/// The account moto reports for everything it creates.
pub const ACCOUNT: &str = "123456789012";
/// The region the stack runs in.
pub const REGION: &str = "eu-west-1";

/// What `Ref` and `Fn::GetAtt` may name.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    /// Parameter (and pseudo parameter) values.
    pub parameters: BTreeMap<String, Value>,
    /// Resource → attribute → value; the attribute `Ref` is what `!Ref` gives.
    pub resources: BTreeMap<String, BTreeMap<String, String>>,
    /// The template's conditions, evaluated.
    pub conditions: BTreeMap<String, bool>,
}

impl Scope {
    /// The pseudo parameters of a stack named `stack_name`, and `parameters`.
    pub fn new(stack_name: &str, parameters: BTreeMap<String, Value>) -> Self {
        let mut all = parameters;
        for (name, value) in [
            ("AWS::Region", REGION),
            ("AWS::AccountId", ACCOUNT),
            ("AWS::Partition", "aws"),
            ("AWS::URLSuffix", "amazonaws.com"),
            ("AWS::StackName", stack_name),
        ] {
            all.insert(name.into(), value.into());
        }
        all.insert(
            "AWS::StackId".into(),
            format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/local").into(),
        );
        Self {
            parameters: all,
            ..Self::default()
        }
    }

    /// Evaluates the template's `Conditions` section (in order of need).
    pub fn evaluate_conditions(&mut self, conditions: &Map<String, Value>) -> anyhow::Result<()> {
        // A condition may name another; a few passes settle any order.
        let mut last = BTreeMap::new();
        for _ in 0..=conditions.len() {
            for (name, expression) in conditions {
                if self.conditions.contains_key(name) {
                    continue;
                }
                match self.resolve(expression) {
                    Ok(Some(Value::Bool(value))) => {
                        self.conditions.insert(name.clone(), value);
                    }
                    Ok(other) => {
                        last.insert(name, format!("not a boolean: {other:?}"));
                    }
                    Err(e) => {
                        last.insert(name, format!("{e:#}"));
                    }
                }
            }
        }
        match conditions
            .keys()
            .find(|name| !self.conditions.contains_key(*name))
        {
            Some(name) => bail!(
                "condition {name} could not be evaluated: {}",
                last.get(name).map_or("", String::as_str)
            ),
            None => Ok(()),
        }
    }

    /// Resolves every intrinsic in `value`; `None` is `AWS::NoValue` (the property is left out).
    pub fn resolve(&self, value: &Value) -> anyhow::Result<Option<Value>> {
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.extend(self.resolve(item)?);
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(map) if map.len() == 1 => {
                let (name, argument) = map.iter().next().context("one key")?;
                match name.as_str() {
                    "Ref" => self.reference(argument),
                    "Condition" => {
                        let name = argument.as_str().context("Condition takes a name")?;
                        Ok(Some(Value::Bool(self.condition(name)?)))
                    }
                    "Fn::If" => self.choose(argument),
                    _ if name.starts_with("Fn::") => self.function(name, argument).map(Some),
                    _ => self.resolve_object(map),
                }
            }
            Value::Object(map) => self.resolve_object(map),
            other => Ok(Some(other.clone())),
        }
    }

    /// [`Scope::resolve`] to a string (numbers and booleans as their text).
    pub fn resolve_string(&self, value: &Value) -> anyhow::Result<String> {
        match self.resolve(value)? {
            Some(Value::String(s)) => Ok(s),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            other => bail!("{value} resolves to {other:?}, not a string"),
        }
    }

    fn resolve_object(&self, map: &Map<String, Value>) -> anyhow::Result<Option<Value>> {
        let mut out = Map::new();
        for (key, item) in map {
            if let Some(resolved) = self.resolve(item)? {
                out.insert(key.clone(), resolved);
            }
        }
        Ok(Some(Value::Object(out)))
    }

    fn condition(&self, name: &str) -> anyhow::Result<bool> {
        self.conditions
            .get(name)
            .copied()
            .ok_or_else(|| anyhow!("condition {name} is not known"))
    }

    /// `Fn::If`: the branch its condition chooses (`AWS::NoValue`: nothing).
    fn choose(&self, argument: &Value) -> anyhow::Result<Option<Value>> {
        match argument.as_array().map(Vec::as_slice) {
            Some([condition, yes, no]) => {
                let name = condition.as_str().context("If condition")?;
                self.resolve(if self.condition(name)? { yes } else { no })
            }
            _ => bail!("Fn::If takes 3 arguments: {argument}"),
        }
    }

    fn reference(&self, argument: &Value) -> anyhow::Result<Option<Value>> {
        let name = argument.as_str().context("Ref takes a name")?;
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(Some(value.clone()));
        }
        self.attribute(name, "Ref").map(|v| Some(Value::String(v)))
    }

    fn attribute(&self, resource: &str, attribute: &str) -> anyhow::Result<String> {
        let attributes = self.resources.get(resource).ok_or_else(|| {
            anyhow!("{resource} is neither a parameter nor a resource the local stack made")
        })?;
        attributes
            .get(attribute)
            .cloned()
            .ok_or_else(|| anyhow!("the local stack does not know {resource}.{attribute}"))
    }

    fn function(&self, name: &str, argument: &Value) -> anyhow::Result<Value> {
        let args = |n: usize| -> anyhow::Result<&Vec<Value>> {
            match argument.as_array() {
                Some(items) if items.len() == n => Ok(items),
                _ => bail!("{name} takes {n} arguments: {argument}"),
            }
        };
        let boolean = |v: &Value| -> anyhow::Result<bool> {
            match self.resolve(v)? {
                Some(Value::Bool(b)) => Ok(b),
                other => bail!("{name}: {other:?} is not a boolean"),
            }
        };
        Ok(match name {
            "Fn::GetAtt" => {
                let parts = args(2)?;
                let resource = parts[0].as_str().context("GetAtt resource")?;
                let attribute = self.resolve_string(&parts[1])?;
                Value::String(self.attribute(resource, &attribute)?)
            }
            "Fn::Sub" => Value::String(self.substitute(argument)?),
            "Fn::Join" => {
                let parts = args(2)?;
                let separator = parts[0].as_str().context("Join separator")?;
                let items = match self.resolve(&parts[1])? {
                    Some(Value::Array(items)) => items,
                    other => bail!("Join of {other:?}"),
                };
                let texts: Vec<String> = items
                    .iter()
                    .map(|i| self.resolve_string(i))
                    .collect::<anyhow::Result<_>>()?;
                Value::String(texts.join(separator))
            }
            "Fn::Select" => {
                let parts = args(2)?;
                let index: usize = self.resolve_string(&parts[0])?.parse()?;
                match self.resolve(&parts[1])? {
                    Some(Value::Array(items)) => items
                        .get(index)
                        .cloned()
                        .ok_or_else(|| anyhow!("Select {index} out of range"))?,
                    other => bail!("Select from {other:?}"),
                }
            }
            "Fn::Split" => {
                let parts = args(2)?;
                let separator = parts[0].as_str().context("Split separator")?;
                let text = self.resolve_string(&parts[1])?;
                Value::Array(text.split(separator).map(Value::from).collect())
            }
            "Fn::Equals" => {
                let parts = args(2)?;
                Value::Bool(self.resolve(&parts[0])? == self.resolve(&parts[1])?)
            }
            "Fn::Not" => Value::Bool(!boolean(&args(1)?[0])?),
            "Fn::And" | "Fn::Or" => {
                let values = argument
                    .as_array()
                    .with_context(|| format!("{name} takes a list"))?
                    .iter()
                    .map(boolean)
                    .collect::<anyhow::Result<Vec<bool>>>()?;
                let all = name == "Fn::And";
                Value::Bool(if all {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                })
            }
            other => bail!("the local stack does not resolve {other}"),
        })
    }

    /// `Fn::Sub`: `"…${Name}…${Resource.Attribute}…${!Literal}…"`, or `[text, {Name: value}]`.
    fn substitute(&self, argument: &Value) -> anyhow::Result<String> {
        let (text, own) = match argument {
            Value::String(text) => (text.as_str(), Map::new()),
            Value::Array(parts) if parts.len() == 2 => {
                let text = parts[0].as_str().context("Sub text")?;
                let own = parts[1].as_object().cloned().unwrap_or_default();
                (text, own)
            }
            other => bail!("Fn::Sub of {other}"),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| anyhow!("Fn::Sub: unclosed ${{ in {text}"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = own.get(name) {
                out.push_str(&self.resolve_string(value)?);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute)?);
            } else {
                let value = self
                    .reference(&Value::String(name.into()))?
                    .unwrap_or_default();
                out.push_str(&self.resolve_string(&value)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        let mut scope = Scope::new("local", BTreeMap::from([("Topic".to_string(), json!(""))]));
        scope.resources.insert(
            "Queue".into(),
            BTreeMap::from([
                ("Ref".to_string(), "http://q/1".to_string()),
                ("Arn".to_string(), "arn:q".to_string()),
            ]),
        );
        scope
            .evaluate_conditions(
                json!({"HasTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Topic"}, ""]}]}})
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
        scope
    }

    #[test]
    fn refs_attributes_subs_and_conditions_resolve() {
        let scope = scope();
        let value = json!({
            "A": {"Ref": "Queue"},
            "B": {"Fn::GetAtt": ["Queue", "Arn"]},
            "C": {"Fn::Sub": "${AWS::Region}/${Queue.Arn}/${!Kept}"},
            "D": {"Fn::Sub": ["${X}-${AWS::StackName}", {"X": {"Ref": "Queue"}}]},
            "E": {"Fn::If": ["HasTopic", "yes", {"Ref": "AWS::NoValue"}]},
        });
        assert_eq!(
            scope.resolve(&value).unwrap(),
            Some(json!({
                "A": "http://q/1",
                "B": "arn:q",
                "C": "eu-west-1/arn:q/${Kept}",
                "D": "http://q/1-local",
            }))
        );
        assert!(scope.resolve(&json!({"Ref": "Missing"})).is_err());
    }
}
