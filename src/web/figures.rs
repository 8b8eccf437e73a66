//! Figure downloads of every chart on every page: `?figure=<chart id>&format=svg|png` (with
//! `width_cm=16`, `gray=1`) on a page's own URL answers that chart as a print figure, and each
//! chart on an HTML page gets its "SVG · PNG · PNG (gray)" links.
//!
//! Owns: the middleware that does both, so a figure is exactly the chart the page shows for the
//! same parameters (the page is a pure function of its URL) and no handler needs figure code.
//! The page is rendered without the figure parameters, the chart's root `<svg>` (found by its
//! `aria-labelledby="<id>-title"`, unique per page) is cut out and handed to
//! `service::figure::render`. Must not: draw charts or render figures itself.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::state::AppState;
use crate::service::figure::{
    self, DASHBOARD_FIGURES, DashboardFigure, FigureError, FigureOptions,
};
use crate::types::Lang;

/// The query parameters that select and shape a figure; the page itself never sees them.
const FIGURE_PARAMS: [&str; 4] = ["figure", "format", "width_cm", "gray"];

/// Largest page body read back to cut a chart out of or to add the figure links to.
const MAX_PAGE_BYTES: usize = 32 << 20;

/// The figure middleware (see the module doc).
pub async fn figures(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let pairs: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    let param = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    match param("figure") {
        Some(id) => {
            let id = id.to_owned();
            match FigureOptions::parse(param("format"), param("width_cm"), param("gray")) {
                Ok(options) => figure_response(state, req, next, &pairs, &id, options)
                    .await
                    .unwrap_or_else(IntoResponse::into_response),
                Err(FigureError::Option { name, detail }) => {
                    WebError::invalid_parameter(name, detail).into_response()
                }
                Err(e) => WebError::from(crate::Error::from(e)).into_response(),
            }
        }
        None => with_links(next.run(req).await, &pairs).await,
    }
}

async fn figure_response(
    state: AppState,
    mut req: Request,
    next: Next,
    pairs: &[(String, String)],
    id: &str,
    options: FigureOptions,
) -> Result<Response, WebError> {
    let page_uri = uri_without(req.uri(), pairs, &FIGURE_PARAMS)?;
    let slug = file_slug(page_uri.path());
    *req.uri_mut() = page_uri;
    let page = next.run(req).await;
    if page.status() != StatusCode::OK || !is_html(&page) {
        return Ok(page);
    }
    let html = read_body(page).await?;
    let chart = chart_svg(&html, id).ok_or_else(|| crate::Error::NotFound {
        what: "figure",
        key: id.to_owned(),
    })?;
    let note = figure::note_for(chart);
    let chart = chart.to_owned();
    let fonts_state = state.clone();
    let fig = super::blocking(move || {
        let fonts = fonts_state.fonts();
        Ok(figure::render(&chart, &options, note, &fonts)?)
    })
    .await?;
    let name = format!("{slug}-{}.{}", sanitize(id), fig.format.extension());
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| crate::Error::Internal(format!("file name {name:?}: {e}")))?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static(fig.format.content_type()),
            ),
            (CONTENT_DISPOSITION, disposition),
        ],
        fig.bytes,
    )
        .into_response())
}

/// The chart whose root `<svg>` is labelled by `<id>-title`, from its `<svg` to its `</svg>`
/// (charts never nest `<svg>`).
pub fn chart_svg<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let needle = format!("aria-labelledby=\"{id}-title\"");
    chart_roots(html).find_map(|(start, end)| {
        let root_tag = &html[start..start + html[start..].find('>')?];
        root_tag.contains(&needle).then(|| &html[start..end])
    })
}

/// `(start, end)` byte ranges of every chart root `<svg …>…</svg>` in a page.
fn chart_roots(html: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    const OPEN: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"";
    const CLOSE: &str = "</svg>";
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = from + html[from..].find(OPEN)?;
        let end = start + html[start..].find(CLOSE)? + CLOSE.len();
        from = end;
        Some((start, end))
    })
}

/// The chart id of a root `<svg>`: the prefix of its `aria-labelledby="<id>-title"`.
fn chart_id(svg: &str) -> Option<&str> {
    let root = &svg[..svg.find('>')?];
    let at = root.find("aria-labelledby=\"")? + "aria-labelledby=\"".len();
    root[at..].split('"').next()?.strip_suffix("-title")
}

fn is_html(r: &Response) -> bool {
    r.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

async fn read_body(r: Response) -> Result<String, WebError> {
    let bytes = to_bytes(r.into_body(), MAX_PAGE_BYTES)
        .await
        .map_err(|e| crate::Error::Internal(format!("page body: {e}")))?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| crate::Error::Internal(format!("page body: {e}")).into())
}

/// An HTML page with a figure-links line after every chart; anything else unchanged.
async fn with_links(page: Response, query: &[(String, String)]) -> Response {
    if page.status() != StatusCode::OK || !is_html(&page) {
        return page;
    }
    let (mut parts, body) = page.into_parts();
    let html = match to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            return WebError::from(crate::Error::Internal(format!("page body: {e}")))
                .into_response();
        }
    };
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(add_links(&html, query)))
}

/// Inserts the figure links after each chart root of `html`. They are relative URLs `?…`, which
/// replace the page's query, so they repeat the page's own parameters (`query`) before the
/// figure's.
pub fn add_links(html: &str, query: &[(String, String)]) -> String {
    let lang = if html.contains("<html lang=\"en\"") {
        Lang::En
    } else {
        Lang::Zh
    };
    let mut out = String::with_capacity(html.len() + 2048);
    let mut last = 0;
    for (start, end) in chart_roots(html) {
        out.push_str(&html[last..end]);
        last = end;
        if let Some(id) = chart_id(&html[start..end]) {
            out.push_str(&links_html(query, id, lang));
        }
    }
    out.push_str(&html[last..]);
    out
}

/// The figure links of chart `id` (HTML-escaped: `&amp;` between parameters).
fn links_html(query: &[(String, String)], id: &str, lang: Lang) -> String {
    let url = |format: &str, gray: bool| {
        let mut pairs: Vec<(&str, &str)> = query
            .iter()
            .filter(|(k, _)| !FIGURE_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(("figure", id));
        pairs.push(("format", format));
        if gray {
            pairs.push(("gray", "1"));
        }
        let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        crate::chart::escape_xml(&format!("?{q}"))
    };
    let label = lang.pick("图片下载（16 cm，300 dpi）", "Figure (16 cm, 300 dpi)");
    let gray = lang.pick("灰度", "grayscale");
    format!(
        "<p class=\"figure-downloads\">{label}: <a href=\"{svg}\" download>SVG</a> · \
         <a href=\"{png}\" download>PNG</a> · <a href=\"{png_gray}\" download>PNG ({gray})</a></p>",
        svg = url("svg", false),
        png = url("png", false),
        png_gray = url("png", true),
    )
}

/// `uri` without the query parameters named in `drop`.
fn uri_without(uri: &Uri, pairs: &[(String, String)], drop: &[&str]) -> Result<Uri, WebError> {
    let kept: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .collect();
    let q = serde_urlencoded::to_string(&kept).unwrap_or_default();
    let s = if q.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{q}", uri.path())
    };
    s.parse()
        .map_err(|e| crate::Error::Internal(format!("uri {s:?}: {e}")).into())
}

/// A file-name stem from a page path: `/regions/CN-GD` → `nqp-regions-CN-GD`.
fn file_slug(path: &str) -> String {
    let s: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(sanitize)
        .collect();
    if s.is_empty() {
        "nqp-rankings".to_owned()
    } else {
        format!("nqp-{}", s.join("-"))
    }
}

/// Keeps `[A-Za-z0-9_-]`, so the name is safe in `Content-Disposition`.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect()
}

/// Every dashboard figure (`service::figure::DASHBOARD_FIGURES`) of the dataset `state`
/// serves, for the page parameters `query` (language, method, year), in each of `options`:
/// what `nqp export --figures` writes. Each is requested from the app in-process with the
/// very URL of its download link, so a file equals the download. A figure its page cannot
/// draw (an analysis the method does not support) comes back as `Err` with the page's message.
pub async fn dashboard_figures(
    state: AppState,
    query: &[(String, String)],
    options: &[FigureOptions],
) -> Vec<(
    DashboardFigure,
    FigureOptions,
    Result<figure::Figure, String>,
)> {
    use tower::ServiceExt;
    let router = super::build_router(state);
    let mut out = Vec::new();
    for f in DASHBOARD_FIGURES {
        for o in options {
            let mut pairs: Vec<(&str, String)> = query
                .iter()
                .filter(|(k, _)| !FIGURE_PARAMS.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            pairs.push(("figure", f.id.to_owned()));
            pairs.push(("format", o.format.extension().to_owned()));
            pairs.push(("width_cm", o.width_cm.to_string()));
            if o.gray {
                pairs.push(("gray", "1".to_owned()));
            }
            let uri = format!(
                "{}?{}",
                f.page,
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            );
            let request = Request::builder()
                .uri(&uri)
                .body(Body::empty())
                .expect("a valid request");
            let result = match router.clone().oneshot(request).await {
                Ok(res) if res.status() == StatusCode::OK => {
                    match to_bytes(res.into_body(), MAX_FIGURE_BYTES).await {
                        Ok(bytes) => Ok(figure::Figure {
                            format: o.format,
                            bytes: bytes.to_vec(),
                        }),
                        Err(e) => Err(format!("{uri}: {e}")),
                    }
                }
                Ok(res) => {
                    let status = res.status();
                    let page = to_bytes(res.into_body(), MAX_PAGE_BYTES)
                        .await
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    Err(format!("{status}: {}", error_message(&page)))
                }
                Err(e) => Err(format!("{uri}: {e}")),
            };
            out.push((f, *o, result));
        }
    }
    out
}

/// Largest figure file read back (a 30 cm PNG at 300 dpi is a few MB).
const MAX_FIGURE_BYTES: usize = 64 << 20;

/// The message of an error page (`<p class="message">`), entities of the escaper undone.
fn error_message(page: &str) -> String {
    const OPEN: &str = "<p class=\"message\">";
    let Some(start) = page.find(OPEN).map(|i| i + OPEN.len()) else {
        return "the page could not be drawn".into();
    };
    let text = &page[start..];
    let text = &text[..text.find("</p>").unwrap_or(text.len())];
    text.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
