//! Framework file text → validated [`Framework`] (two types: the serde mirror of the file, then
//! the checked domain value).
//!
//! Owns: deserialising the TOML with spans and every static check (ids, names, dimensions,
//! directions, levels, weights, formula syntax, references, aliases, cycles, empty dimensions).
//! Must not: look at any data (panel checks live in `derive`). Errors come in file order: the first
//! problem found is returned, with its line and column.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{
    Availability, Formula, Framework, FrameworkError, IndexMeta, IndicatorDef, InputDef, Position,
    RegionExclusion, normalise_name,
};
use crate::types::{Dimension, Direction, IndicatorId, Level};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworkFile {
    #[serde(default)]
    exclude: Vec<Spanned<ExcludeFile>>,
    index: IndexFile,
    #[serde(default)]
    indicator: Vec<Spanned<IndicatorFile>>,
    #[serde(default)]
    input: Vec<Spanned<InputFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    id: Spanned<String>,
    name_en: Option<String>,
    name_zh: Option<String>,
    description_en: Option<String>,
    description_zh: Option<String>,
    citation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExcludeFile {
    region: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorFile {
    id: Spanned<String>,
    name_en: Option<String>,
    name_zh: Option<String>,
    dimension: Spanned<String>,
    subdimension: Option<String>,
    subdimension_zh: Option<String>,
    level: Option<Spanned<String>>,
    direction: Spanned<String>,
    unit: String,
    unit_zh: Option<String>,
    source: String,
    publisher: Option<String>,
    formula: Option<Spanned<String>>,
    weight: Option<Spanned<f64>>,
    description_en: Option<String>,
    description_zh: Option<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    #[serde(default)]
    ai_digital: bool,
    availability: Option<Spanned<String>>,
    proxy: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputFile {
    id: Spanned<String>,
    name_en: Option<String>,
    name_zh: Option<String>,
    unit: String,
    source: String,
    publisher: Option<String>,
    description_en: Option<String>,
    description_zh: Option<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
}

/// An entry of either table: its span, its id and its aliases (with their spans, for errors).
type Entry = (Range<usize>, Spanned<String>, Vec<Spanned<String>>);

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn pos(&self, span: Range<usize>) -> Position {
        Position::at(self.file, self.text, span.start)
    }

    fn line(&self, span: Range<usize>) -> u32 {
        self.pos(span).line.unwrap_or(1)
    }
}

pub(super) fn load(text: &str, file: &str) -> Result<Framework, FrameworkError> {
    let ctx = Ctx { file, text };
    let raw: FrameworkFile = toml::from_str(text).map_err(|e| FrameworkError::Toml {
        pos: match e.span() {
            Some(span) => ctx.pos(span),
            None => Position::file(file),
        },
        message: e.message().trim().to_string(),
    })?;

    let index = index_meta(&ctx, raw.index)?;
    let exclude = exclusions(&ctx, raw.exclude)?;

    // Ids are checked in file order across both tables, so "defined twice" points at the later one.
    let mut entries: Vec<Entry> = raw
        .input
        .iter()
        .map(|i| {
            (
                i.span(),
                i.get_ref().id.clone(),
                i.get_ref().aliases.clone(),
            )
        })
        .chain(raw.indicator.iter().map(|i| {
            (
                i.span(),
                i.get_ref().id.clone(),
                i.get_ref().aliases.clone(),
            )
        }))
        .collect();
    entries.sort_by_key(|(span, _, _)| span.start);
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for (_, id, _) in &entries {
        let value = id.get_ref().as_str();
        IndicatorId::new(value).map_err(|e| FrameworkError::BadId {
            pos: ctx.pos(id.span()),
            kind: "indicator",
            value: value.to_string(),
            rule: e.rule,
        })?;
        if let Some(first_line) = seen.insert(value, ctx.line(id.span())) {
            return Err(FrameworkError::DuplicateId {
                pos: ctx.pos(id.span()),
                id: value.to_string(),
                first_line,
            });
        }
    }

    let mut inputs = Vec::with_capacity(raw.input.len());
    for spanned in raw.input {
        let span = spanned.span();
        inputs.push(input_def(&ctx, span, spanned.into_inner())?);
    }
    let mut indicators = Vec::with_capacity(raw.indicator.len());
    let mut unavailable = Vec::new();
    let mut formula_spans = BTreeMap::new();
    for spanned in raw.indicator {
        let span = spanned.span();
        let (def, formula_span) = indicator_def(&ctx, span.clone(), spanned.into_inner())?;
        // An indicator the public data cannot supply is kept on record (and reported when the
        // framework is computed) but neither derived nor scored.
        if def.availability == Availability::Unavailable {
            unavailable.push(def);
            continue;
        }
        formula_spans.insert(def.id.to_string(), formula_span.unwrap_or(span));
        indicators.push(def);
    }
    let framework = Framework {
        index,
        indicators,
        inputs,
        unavailable,
        exclude,
    };

    check_aliases(&ctx, &entries)?;
    check_references(&ctx, &framework, &formula_spans)?;
    check_cycles(&ctx, &framework, &formula_spans)?;
    for dimension in Dimension::ALL {
        if framework.indicators_of(dimension).next().is_none() {
            return Err(FrameworkError::EmptyDimension {
                pos: Position::file(file),
                dimension,
            });
        }
    }
    Ok(framework)
}

fn index_meta(ctx: &Ctx, raw: IndexFile) -> Result<IndexMeta, FrameworkError> {
    let id = raw.id.get_ref();
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
    if !valid {
        return Err(FrameworkError::BadId {
            pos: ctx.pos(raw.id.span()),
            kind: "index",
            value: id.clone(),
            rule: "lower-case letters, digits, '_' and '-', 1–64 characters",
        });
    }
    let (name_en, name_zh) = names(ctx, raw.id.span(), id, raw.name_en, raw.name_zh)?;
    Ok(IndexMeta {
        id: raw.id.into_inner(),
        name_en,
        name_zh,
        description_en: raw.description_en,
        description_zh: raw.description_zh,
        citation: raw.citation.filter(|c| !c.trim().is_empty()),
    })
}

/// `exclude = [{ region = "CN-XZ", reason = "…" }]`: both keys non-empty, no region twice.
fn exclusions(
    ctx: &Ctx,
    raw: Vec<Spanned<ExcludeFile>>,
) -> Result<Vec<RegionExclusion>, FrameworkError> {
    let mut out: Vec<RegionExclusion> = Vec::with_capacity(raw.len());
    for spanned in raw {
        let span = spanned.span();
        let ExcludeFile { region, reason } = spanned.into_inner();
        let (region, reason) = (region.trim().to_owned(), reason.trim().to_owned());
        let problem = if region.is_empty() {
            Some("an exclusion needs a region")
        } else if reason.is_empty() {
            Some("an exclusion needs a reason")
        } else if out.iter().any(|e| e.region == region) {
            Some("this region is excluded twice")
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(FrameworkError::BadExclusion {
                pos: ctx.pos(span),
                region,
                message,
            });
        }
        out.push(RegionExclusion { region, reason });
    }
    Ok(out)
}

/// Both names, each falling back to the other; at least one must be given.
fn names(
    ctx: &Ctx,
    span: Range<usize>,
    id: &str,
    en: Option<String>,
    zh: Option<String>,
) -> Result<(String, String), FrameworkError> {
    let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    match (clean(en), clean(zh)) {
        (Some(en), Some(zh)) => Ok((en, zh)),
        (Some(en), None) => Ok((en.clone(), en)),
        (None, Some(zh)) => Ok((zh.clone(), zh)),
        (None, None) => Err(FrameworkError::MissingName {
            pos: ctx.pos(span),
            id: id.to_string(),
        }),
    }
}

fn checked_id(ctx: &Ctx, id: &Spanned<String>) -> Result<IndicatorId, FrameworkError> {
    IndicatorId::new(id.get_ref().as_str()).map_err(|e| FrameworkError::BadId {
        pos: ctx.pos(id.span()),
        kind: "indicator",
        value: id.get_ref().clone(),
        rule: e.rule,
    })
}

fn input_def(ctx: &Ctx, span: Range<usize>, raw: InputFile) -> Result<InputDef, FrameworkError> {
    let id = checked_id(ctx, &raw.id)?;
    let (name_en, name_zh) = names(ctx, span, id.as_str(), raw.name_en, raw.name_zh)?;
    Ok(InputDef {
        id,
        name_en,
        name_zh,
        unit: raw.unit,
        source: raw.source,
        publisher: raw.publisher,
        description_en: raw.description_en,
        description_zh: raw.description_zh,
        aliases: raw.aliases.into_iter().map(Spanned::into_inner).collect(),
    })
}

fn parse_level(value: &str) -> Option<Level> {
    match value.trim() {
        "micro" | "微观" => Some(Level::Micro),
        "meso" | "中观" => Some(Level::Meso),
        "macro" | "宏观" => Some(Level::Macro),
        _ => None,
    }
}

/// The indicator, plus the span of its formula value (for errors found later).
fn indicator_def(
    ctx: &Ctx,
    span: Range<usize>,
    raw: IndicatorFile,
) -> Result<(IndicatorDef, Option<Range<usize>>), FrameworkError> {
    let id = checked_id(ctx, &raw.id)?;
    let (name_en, name_zh) = names(ctx, span.clone(), id.as_str(), raw.name_en, raw.name_zh)?;
    let dimension = raw.dimension.get_ref().parse::<Dimension>().map_err(|_| {
        FrameworkError::UnknownDimension {
            pos: ctx.pos(raw.dimension.span()),
            id: id.to_string(),
            value: raw.dimension.get_ref().clone(),
        }
    })?;
    let direction = raw.direction.get_ref().parse::<Direction>().map_err(|_| {
        FrameworkError::UnknownDirection {
            pos: ctx.pos(raw.direction.span()),
            id: id.to_string(),
            value: raw.direction.get_ref().clone(),
        }
    })?;
    let level = match &raw.level {
        None => None,
        Some(level) => {
            Some(
                parse_level(level.get_ref()).ok_or_else(|| FrameworkError::UnknownLevel {
                    pos: ctx.pos(level.span()),
                    id: id.to_string(),
                    value: level.get_ref().clone(),
                })?,
            )
        }
    };
    let weight = match &raw.weight {
        None => None,
        Some(w) => {
            let value = *w.get_ref();
            if !value.is_finite() || value < 0.0 {
                return Err(FrameworkError::NegativeWeight {
                    pos: ctx.pos(w.span()),
                    id: id.to_string(),
                    weight: value,
                });
            }
            Some(value)
        }
    };
    let formula = match &raw.formula {
        None => None,
        Some(text) => {
            Some(
                Formula::parse(text.get_ref()).map_err(|e| FrameworkError::FormulaSyntax {
                    pos: ctx.pos(text.span()),
                    id: id.to_string(),
                    // Quoted in the message: a formula over the length limit is cut short.
                    formula: match text.get_ref().char_indices().nth(120) {
                        Some((at, _)) => format!("{}…", &text.get_ref()[..at]),
                        None => text.get_ref().clone(),
                    },
                    column: e.column,
                    message: e.message,
                })?,
            )
        }
    };
    let formula_span = raw.formula.as_ref().map(Spanned::span);
    let availability = match &raw.availability {
        None => Availability::Available,
        Some(value) => match value.get_ref().trim() {
            "available" => Availability::Available,
            "proxied" => Availability::Proxied,
            "unavailable" => Availability::Unavailable,
            _ => {
                return Err(FrameworkError::UnknownAvailability {
                    pos: ctx.pos(value.span()),
                    id: id.to_string(),
                    value: value.get_ref().clone(),
                });
            }
        },
    };
    let proxy = raw.proxy.filter(|p| !p.trim().is_empty());
    if availability == Availability::Proxied && proxy.is_none() {
        return Err(FrameworkError::MissingProxy {
            pos: ctx.pos(span),
            id: id.to_string(),
        });
    }
    let def = IndicatorDef {
        id,
        name_en,
        name_zh,
        dimension,
        subdimension: raw
            .subdimension
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        subdimension_zh: raw
            .subdimension_zh
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        level,
        direction,
        unit: raw.unit,
        unit_zh: raw.unit_zh.filter(|u| !u.trim().is_empty()),
        source: raw.source,
        publisher: raw.publisher,
        formula,
        weight,
        description_en: raw.description_en,
        description_zh: raw.description_zh,
        aliases: raw.aliases.into_iter().map(Spanned::into_inner).collect(),
        ai_digital: raw.ai_digital,
        availability,
        proxy,
    };
    Ok((def, formula_span))
}

/// An alias may name one entry only, and may not be another entry's id. Checked in file order,
/// so the error points at the later alias.
fn check_aliases(ctx: &Ctx, entries: &[Entry]) -> Result<(), FrameworkError> {
    let mut owner: BTreeMap<String, &str> = entries
        .iter()
        .map(|(_, id, _)| (id.get_ref().clone(), id.get_ref().as_str()))
        .collect();
    for (_, id, aliases) in entries {
        let id = id.get_ref().as_str();
        for alias in aliases {
            let key = normalise_name(alias.get_ref());
            let clash = |other: &str| FrameworkError::DuplicateAlias {
                pos: ctx.pos(alias.span()),
                alias: alias.get_ref().clone(),
                id: id.to_string(),
                other: other.to_string(),
            };
            if key.is_empty() {
                return Err(clash("(an empty name)"));
            }
            match owner.get(&key) {
                Some(other) if *other != id => return Err(clash(other)),
                Some(_) => {}
                None => {
                    owner.insert(key, id);
                }
            }
        }
    }
    Ok(())
}

/// Every identifier in a formula must be an input or an indicator of this framework.
fn check_references(
    ctx: &Ctx,
    framework: &Framework,
    formula_spans: &BTreeMap<String, Range<usize>>,
) -> Result<(), FrameworkError> {
    for def in &framework.indicators {
        let Some(formula) = &def.formula else {
            continue;
        };
        for name in formula.identifiers() {
            if framework.get(name).is_none() && framework.input(name).is_none() {
                return Err(FrameworkError::UnknownReference {
                    pos: ctx.pos(formula_spans[def.id.as_str()].clone()),
                    id: def.id.to_string(),
                    name: name.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Depth-first search over "formula uses indicator" edges; a back edge is a cycle. The search
/// keeps its path on the heap, so a long chain of formulas cannot exhaust the thread's stack.
fn check_cycles(
    ctx: &Ctx,
    framework: &Framework,
    formula_spans: &BTreeMap<String, Range<usize>>,
) -> Result<(), FrameworkError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let uses = |id: &str| -> Vec<&str> {
        framework
            .get(id)
            .and_then(|d| d.formula.as_ref())
            .map(|f| {
                f.identifiers()
                    .into_iter()
                    .filter_map(|name| framework.get(name))
                    .map(|dep| dep.id.as_str())
                    .collect()
            })
            .unwrap_or_default()
    };

    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    for def in &framework.indicators {
        let root = def.id.as_str();
        if marks.contains_key(root) {
            continue;
        }
        marks.insert(root, Mark::Active);
        // The path from the root: each indicator with its uses and the next one to follow.
        let mut path: Vec<(&str, Vec<&str>, usize)> = vec![(root, uses(root), 0)];
        while let Some((id, deps, next)) = path.last_mut() {
            let Some(&dep) = deps.get(*next) else {
                marks.insert(*id, Mark::Done);
                path.pop();
                continue;
            };
            *next += 1;
            match marks.get(dep) {
                Some(Mark::Done) => {}
                Some(Mark::Active) => {
                    let start = path.iter().position(|(p, _, _)| *p == dep).unwrap_or(0);
                    let mut cycle: Vec<String> = path[start..]
                        .iter()
                        .map(|(p, _, _)| p.to_string())
                        .collect();
                    cycle.push(dep.to_string());
                    let span = formula_spans[cycle[0].as_str()].clone();
                    return Err(FrameworkError::Cycle {
                        pos: ctx.pos(span),
                        cycle,
                    });
                }
                None => {
                    marks.insert(dep, Mark::Active);
                    path.push((dep, uses(dep), 0));
                }
            }
        }
    }
    Ok(())
}
