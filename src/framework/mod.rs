//! Framework: the declared indicator system (docs/method.md §2, a contract — extend, don't rename).
//!
//! Owns: the framework file format (TOML) → a typed, validated [`Framework`]; the mapping of panel
//! series names (ids and `aliases`) onto framework ids; deriving ratio indicators from a panel with
//! their formulas ([`Framework::derive`]). Must not: read files by itself (callers pass the text and
//! the user-facing file name), normalise or weight anything (that is `method`), or know HTTP/SQL.
//!
//! File shape (every key below is part of the contract):
//! ```toml
//! [index]
//! id = "nqp-triad"                       # [a-z0-9_-]+
//! name_en = "New-quality productivity index"
//! name_zh = "新质生产力指数"
//!
//! [[input]]                              # optional: raw panel series used by formulas, not scored
//! id = "gdp"
//! name_en = "Gross regional product"
//! name_zh = "地区生产总值"
//! unit = "100 million yuan"
//! source = "NBS 分省年度数据"
//! publisher = "国家统计局 NBS"          # optional
//! aliases = ["地区生产总值"]             # optional: names in uploaded files that mean this series
//!
//! [[indicator]]
//! id = "rd_intensity"                    # [a-z][a-z0-9_]*, unique across inputs and indicators
//! name_en = "R&D expenditure / GDP"
//! name_zh = "R&D经费投入强度"
//! dimension = "tools"                    # laborers | tools | objects (Chinese names accepted)
//! subdimension = "S&T input"             # optional
//! level = "meso"                         # optional: micro | meso | macro
//! direction = "+"                        # "+" benefit, "-" cost
//! unit = "%"
//! source = "China Statistical Yearbook on S&T"
//! publisher = "国家统计局 NBS; 科学技术部 MOST"   # optional
//! formula = "rd_expenditure / gdp * 100"  # optional; without it the id must be in the panel
//! weight = 0.08                          # optional, >= 0; used only with manual weights
//! aliases = ["R&D经费投入强度"]           # optional
//! description_en = "…"                   # optional, also description_zh
//! ```
//! At least one of `name_en` / `name_zh` is required; a missing one falls back to the other.
//! Every name a formula uses must be declared as an `[[input]]` or an `[[indicator]]` (so each raw
//! series has a unit and a source on record); every dimension needs at least one indicator
//! (`framework.empty_dimension`), because the score tables always carry all three.

mod derive;
pub mod formula;
mod load;

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::method::IndicatorSpec;
use crate::types::{Dimension, Direction, IndicatorId, Level};

pub use formula::{BinOp, Formula, FormulaExpr, FormulaSyntaxError, MAX_DEPTH, MAX_FORMULA_LEN};

/// Where in the framework file something is. `line` and `column` are 1-based; `column` counts
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Position {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Position {
    /// The position of byte `offset` of `text`.
    pub fn at(file: &str, text: &str, offset: usize) -> Position {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        // u32 keeps the error type small; a framework file never has 4 billion lines.
        let (line, column) = (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        );
        Position {
            file: file.to_string(),
            line: Some(line),
            column: Some(column),
        }
    }

    /// A position naming only the file.
    pub fn file(file: &str) -> Position {
        Position {
            file: file.to_string(),
            line: None,
            column: None,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::types::write_place(
            f,
            &self.file,
            self.line.map(u64::from),
            self.column.map(u64::from),
        )
    }
}

/// Everything that can be wrong with a framework file, or with a panel it is applied to.
#[derive(Debug, thiserror::Error)]
pub enum FrameworkError {
    #[error("{pos}: {message}")]
    Toml { pos: Position, message: String },
    #[error("{pos}: invalid {kind} id '{value}': {rule}")]
    BadId {
        pos: Position,
        kind: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("{pos}: '{id}' is defined twice (first at line {first_line})")]
    DuplicateId {
        pos: Position,
        id: String,
        first_line: u32,
    },
    #[error("{pos}: '{id}' needs name_en or name_zh")]
    MissingName { pos: Position, id: String },
    #[error(
        "{pos}: indicator '{id}' has unknown dimension '{value}' (expected laborers, tools or objects)"
    )]
    UnknownDimension {
        pos: Position,
        id: String,
        value: String,
    },
    #[error("{pos}: indicator '{id}' has unknown direction '{value}' (expected \"+\" or \"-\")")]
    UnknownDirection {
        pos: Position,
        id: String,
        value: String,
    },
    #[error("{pos}: indicator '{id}' has unknown level '{value}' (expected micro, meso or macro)")]
    UnknownLevel {
        pos: Position,
        id: String,
        value: String,
    },
    #[error(
        "{pos}: indicator '{id}' has unknown availability '{value}' (expected available, proxied or unavailable)"
    )]
    UnknownAvailability {
        pos: Position,
        id: String,
        value: String,
    },
    #[error("{pos}: indicator '{id}' is marked proxied but names no proxy (add proxy = \"…\")")]
    MissingProxy { pos: Position, id: String },
    #[error("{pos}: exclude '{region}': {message}")]
    BadExclusion {
        pos: Position,
        region: String,
        message: &'static str,
    },
    #[error("{pos}: indicator '{id}' has weight {weight}; weights must be finite and >= 0")]
    NegativeWeight {
        pos: Position,
        id: String,
        weight: f64,
    },
    #[error("{pos}: formula of '{id}', column {column}: {message} (in \"{formula}\")")]
    FormulaSyntax {
        pos: Position,
        id: String,
        formula: String,
        column: usize,
        message: String,
    },
    #[error(
        "{pos}: formula of '{id}' uses '{name}', which is neither an [[input]] nor an [[indicator]] of this framework"
    )]
    UnknownReference {
        pos: Position,
        id: String,
        name: String,
    },
    #[error("{pos}: formulas refer to each other in a cycle: {}", cycle.join(" → "))]
    Cycle { pos: Position, cycle: Vec<String> },
    #[error("{pos}: alias '{alias}' of '{id}' is already used by '{other}'")]
    DuplicateAlias {
        pos: Position,
        alias: String,
        id: String,
        other: String,
    },
    #[error(
        "{pos}: dimension '{dimension}' has no indicators (each of laborers, tools, objects needs at least one)"
    )]
    EmptyDimension { pos: Position, dimension: Dimension },
    #[error("the data has no series '{id}' (needed by {})", needed_by.join(", "))]
    MissingIndicator { id: String, needed_by: Vec<String> },
    #[error(
        "indicator '{id}': denominator '{denominator}' is 0 for region {region} in {year}; fix the data or the formula"
    )]
    DivisionByZero {
        id: String,
        denominator: String,
        region: String,
        year: i32,
    },
    #[error("series {} all mean '{id}' and give two values for region {region} in {year}", names.join(", "))]
    AliasConflict {
        id: String,
        names: Vec<String>,
        region: String,
        year: i32,
    },
    #[error("internal data error: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

impl FrameworkError {
    /// A stable, machine-readable code (a contract: tests, the JSON API and translations use it).
    pub fn code(&self) -> &'static str {
        match self {
            FrameworkError::Toml { .. } => "framework.toml",
            FrameworkError::BadId { .. } => "framework.bad_id",
            FrameworkError::DuplicateId { .. } => "framework.duplicate_id",
            FrameworkError::MissingName { .. } => "framework.missing_name",
            FrameworkError::UnknownDimension { .. } => "framework.unknown_dimension",
            FrameworkError::UnknownDirection { .. } => "framework.unknown_direction",
            FrameworkError::UnknownLevel { .. } => "framework.unknown_level",
            FrameworkError::NegativeWeight { .. } => "framework.negative_weight",
            FrameworkError::UnknownAvailability { .. } => "framework.unknown_availability",
            FrameworkError::MissingProxy { .. } => "framework.missing_proxy",
            FrameworkError::BadExclusion { .. } => "framework.bad_exclusion",
            FrameworkError::FormulaSyntax { .. } => "framework.formula_syntax",
            FrameworkError::UnknownReference { .. } => "framework.unknown_reference",
            FrameworkError::Cycle { .. } => "framework.cycle",
            FrameworkError::DuplicateAlias { .. } => "framework.duplicate_alias",
            FrameworkError::EmptyDimension { .. } => "framework.empty_dimension",
            FrameworkError::MissingIndicator { .. } => "framework.missing_indicator",
            FrameworkError::DivisionByZero { .. } => "framework.division_by_zero",
            FrameworkError::AliasConflict { .. } => "framework.alias_conflict",
            FrameworkError::Polars(_) => "framework.internal",
        }
    }

    /// Where in the framework file the problem is (errors found in the data have none).
    pub fn position(&self) -> Option<&Position> {
        match self {
            FrameworkError::Toml { pos, .. }
            | FrameworkError::BadId { pos, .. }
            | FrameworkError::DuplicateId { pos, .. }
            | FrameworkError::MissingName { pos, .. }
            | FrameworkError::UnknownDimension { pos, .. }
            | FrameworkError::UnknownDirection { pos, .. }
            | FrameworkError::UnknownLevel { pos, .. }
            | FrameworkError::NegativeWeight { pos, .. }
            | FrameworkError::UnknownAvailability { pos, .. }
            | FrameworkError::MissingProxy { pos, .. }
            | FrameworkError::BadExclusion { pos, .. }
            | FrameworkError::FormulaSyntax { pos, .. }
            | FrameworkError::UnknownReference { pos, .. }
            | FrameworkError::Cycle { pos, .. }
            | FrameworkError::DuplicateAlias { pos, .. }
            | FrameworkError::EmptyDimension { pos, .. } => Some(pos),
            FrameworkError::MissingIndicator { .. }
            | FrameworkError::DivisionByZero { .. }
            | FrameworkError::AliasConflict { .. }
            | FrameworkError::Polars(_) => None,
        }
    }
}

/// The `[index]` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexMeta {
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    /// The publication a preset follows (shown with the framework).
    pub citation: Option<String>,
}

/// A region left out of every computation, with the reason recorded in every result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionExclusion {
    pub region: String,
    pub reason: String,
}

/// Whether the public data supply an indicator of a (published) framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    /// Built from the series the publication uses.
    #[default]
    Available,
    /// Built from a stand-in series (`proxy` says which).
    Proxied,
    /// Not in the public data: listed, reported, never scored.
    Unavailable,
}

/// One scored indicator (`[[indicator]]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorDef {
    pub id: IndicatorId,
    pub name_en: String,
    pub name_zh: String,
    pub dimension: Dimension,
    pub subdimension: Option<String>,
    /// The sub-dimension's Chinese label (`subdimension` is shown when absent).
    pub subdimension_zh: Option<String>,
    pub level: Option<Level>,
    pub direction: Direction,
    pub unit: String,
    /// The unit in Chinese (`unit` is shown when absent).
    pub unit_zh: Option<String>,
    pub source: String,
    pub publisher: Option<String>,
    pub formula: Option<Formula>,
    pub weight: Option<f64>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    pub aliases: Vec<String>,
    /// Part of the intelligence-and-digital sub-index.
    pub ai_digital: bool,
    pub availability: Availability,
    /// The stand-in series of a `proxied` indicator.
    pub proxy: Option<String>,
}

impl IndicatorDef {
    /// The indicator's name in `lang`.
    pub fn name(&self, lang: crate::types::Lang) -> &str {
        lang.pick(&self.name_zh, &self.name_en)
    }

    /// The sub-dimension label in `lang` (the `subdimension` key is the stable id).
    pub fn subdimension_label(&self, lang: crate::types::Lang) -> Option<&str> {
        match lang {
            crate::types::Lang::Zh => self
                .subdimension_zh
                .as_deref()
                .or(self.subdimension.as_deref()),
            crate::types::Lang::En => self.subdimension.as_deref(),
        }
    }

    /// The unit in `lang`.
    pub fn unit_label(&self, lang: crate::types::Lang) -> &str {
        match lang {
            crate::types::Lang::Zh => self.unit_zh.as_deref().unwrap_or(&self.unit),
            crate::types::Lang::En => &self.unit,
        }
    }
}

/// One raw panel series that formulas use but that is not scored (`[[input]]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputDef {
    pub id: IndicatorId,
    pub name_en: String,
    pub name_zh: String,
    pub unit: String,
    pub source: String,
    pub publisher: Option<String>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    pub aliases: Vec<String>,
}

/// A validated framework: ids unique and well-formed, formulas parsed, every reference declared,
/// no cycles, every dimension populated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Framework {
    pub index: IndexMeta,
    /// The scored indicators (available or proxied).
    pub indicators: Vec<IndicatorDef>,
    pub inputs: Vec<InputDef>,
    /// Indicators marked `availability = "unavailable"`: on record, never derived or scored.
    pub unavailable: Vec<IndicatorDef>,
    /// Regions left out of every computation (`exclude = [{ region, reason }]`).
    pub exclude: Vec<RegionExclusion>,
}

impl Framework {
    /// Parse and validate a framework file. `file_name` is the user-facing name used in errors.
    pub fn from_toml(text: &str, file_name: &str) -> Result<Framework, FrameworkError> {
        load::load(text, file_name)
    }

    /// What the method needs per scored indicator, in framework order.
    pub fn indicator_specs(&self) -> Vec<IndicatorSpec> {
        self.indicators
            .iter()
            .map(|d| IndicatorSpec {
                id: d.id.clone(),
                dimension: d.dimension,
                subdimension: d.subdimension.clone(),
                level: d.level,
                direction: d.direction,
                manual_weight: d.weight,
                ai_digital: d.ai_digital,
            })
            .collect()
    }

    /// The sub-indices (mechanism levels, intelligence and digital) the scored indicators
    /// define: the extra columns of every result and the extra measures of the dashboard.
    pub fn subindices(&self) -> Vec<crate::types::Subindex> {
        crate::method::subindices(&self.indicator_specs())
    }

    /// The scored indicator with this id.
    pub fn get(&self, id: &str) -> Option<&IndicatorDef> {
        self.indicators.iter().find(|d| d.id.as_str() == id)
    }

    /// The input series with this id.
    pub fn input(&self, id: &str) -> Option<&InputDef> {
        self.inputs.iter().find(|d| d.id.as_str() == id)
    }

    /// Indicators of one dimension, in framework order.
    pub fn indicators_of(&self, dimension: Dimension) -> impl Iterator<Item = &IndicatorDef> {
        self.indicators
            .iter()
            .filter(move |d| d.dimension == dimension)
    }

    /// The framework id (input or indicator) that a series name in a panel stands for: the id
    /// itself, or an entry's alias. Aliases match ignoring white space, full- vs half-width
    /// parentheses and a trailing unit in parentheses on either side (`地区生产总值(亿元)` =
    /// `地区生产总值`).
    pub fn canonical_id(&self, name: &str) -> Option<&IndicatorId> {
        let entries = self
            .inputs
            .iter()
            .map(|d| (&d.id, &d.aliases))
            .chain(self.indicators.iter().map(|d| (&d.id, &d.aliases)));
        let mut by_alias = None;
        let wanted = normalise_name(name);
        let wanted_bare = strip_unit_suffix(&wanted);
        for (id, aliases) in entries {
            if id.as_str() == name {
                return Some(id);
            }
            if by_alias.is_none() {
                let hit = aliases.iter().map(|a| normalise_name(a)).find(|a| {
                    *a == wanted
                        || wanted_bare.is_some_and(|bare| bare == a.as_str())
                        || strip_unit_suffix(a) == Some(wanted.as_str())
                });
                if hit.is_some() {
                    by_alias = Some(id);
                }
            }
        }
        by_alias
    }

    /// The panel series the framework needs (inputs used by formulas and indicators without a
    /// formula), each with the scored indicators that need it, in framework order.
    pub fn required_series(&self) -> Vec<(IndicatorId, Vec<IndicatorId>)> {
        // The leaves of each formula, built in dependency order from its inputs' leaves (each
        // formula is read once: a web of formulas sharing inputs stays linear, where following
        // every path would grow exponentially), in order of first appearance.
        let mut formula_leaves: HashMap<&str, Vec<IndicatorId>> = HashMap::new();
        for def in self.formula_order() {
            let Some(formula) = &def.formula else {
                continue;
            };
            let mut leaves = Vec::new();
            for name in formula.identifiers() {
                let found: Vec<IndicatorId> = match self.get(name) {
                    Some(dep) if dep.formula.is_some() => formula_leaves
                        .get(dep.id.as_str())
                        .cloned()
                        .unwrap_or_default(),
                    Some(dep) => vec![dep.id.clone()],
                    None => self.input(name).map(|i| i.id.clone()).into_iter().collect(),
                };
                for leaf in found {
                    if !leaves.contains(&leaf) {
                        leaves.push(leaf);
                    }
                }
            }
            formula_leaves.insert(def.id.as_str(), leaves);
        }

        let mut out: Vec<(IndicatorId, Vec<IndicatorId>)> = Vec::new();
        for def in &self.indicators {
            let leaves = match &def.formula {
                Some(_) => formula_leaves
                    .get(def.id.as_str())
                    .cloned()
                    .unwrap_or_default(),
                None => vec![def.id.clone()],
            };
            for leaf in leaves {
                match out.iter_mut().find(|(id, _)| *id == leaf) {
                    Some((_, users)) => users.push(def.id.clone()),
                    None => out.push((leaf, vec![def.id.clone()])),
                }
            }
        }
        out
    }
}

/// Drop all white space (ASCII and full-width) and map full-width parentheses to ASCII ones.
fn normalise_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            other => other,
        })
        .collect()
}

/// `地区生产总值(亿元)` → `地区生产总值`; `None` when there is no trailing parenthesised part.
fn strip_unit_suffix(name: &str) -> Option<&str> {
    let body = name.strip_suffix(')')?;
    let open = body.rfind('(')?;
    let bare = &name[..open];
    (!bare.is_empty()).then_some(bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "a = 1\n名称 = \"x\"\n";
        let pos = Position::at("f.toml", text, text.find('=').unwrap());
        assert_eq!((pos.line, pos.column), (Some(1), Some(3)));
        let pos = Position::at("f.toml", text, text.find('"').unwrap());
        assert_eq!((pos.line, pos.column), (Some(2), Some(6)));
        assert_eq!(pos.to_string(), "f.toml:2:6");
    }

    #[test]
    fn names_normalise_for_alias_matching() {
        assert_eq!(
            normalise_name(" 地区 生产总值（亿元）"),
            "地区生产总值(亿元)"
        );
        assert_eq!(
            strip_unit_suffix("地区生产总值(亿元)"),
            Some("地区生产总值")
        );
        assert_eq!(strip_unit_suffix("(亿元)"), None);
        assert_eq!(strip_unit_suffix("gdp"), None);
    }
}
