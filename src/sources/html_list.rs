//! List pages read with CSS selectors (korea.kr's press-release list, ministry boards).

use scraper::{ElementRef, Html};
use url::Url;

use super::{ParseError, ParseStats, Parsed, decode};
use crate::config::{Identity, ListSelectors, RowFilter};
use crate::items::{self, Item};

/// Parses a list page into items, in page order. Zero rows matching `item` is an error (the
/// layout probably changed), and so is a page whose kept rows all lack a title (the title
/// selector no longer fits); rows removed by the filter are normal. Rows without a title or a
/// link among good ones are counted in the stats (the ingest stage warns about them).
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
    select: &ListSelectors,
    filter: Option<&RowFilter>,
    identity: Option<&Identity>,
) -> Result<Parsed, ParseError> {
    let text = decode::html_text(bytes, content_type);
    let page = Html::parse_document(&text);
    let base = page_base(&page, base);
    let mut stats = ParseStats::default();
    let mut out = Vec::new();
    for row in page.select(&select.item.selector) {
        stats.rows += 1;
        if let Some(filter) = filter
            && !keep_row(row, filter)
        {
            stats.filtered += 1;
            continue;
        }
        let Some(title_el) = row.select(&select.title.selector).next() else {
            stats.untitled += 1;
            continue;
        };
        let title = element_text(title_el);
        if title.is_empty() {
            stats.untitled += 1;
            continue;
        }
        let link_el = match &select.link {
            Some(sel) => row.select(&sel.selector).next(),
            None => Some(title_el)
                .filter(|e| has_link(*e))
                .or_else(|| {
                    title_el
                        .ancestors()
                        .filter_map(ElementRef::wrap)
                        .find(|e| has_link(*e))
                })
                .or_else(|| row.select(&A).next()),
        };
        let link = link_el
            .and_then(|el| link_of(el, select))
            .and_then(|h| items::resolve_link(&base, &h));
        if link.is_none() {
            stats.unlinked += 1;
        }
        let published = select
            .date
            .as_ref()
            .and_then(|sel| row.select(&sel.selector).next())
            .and_then(|el| items::parse_date(&element_text(el)));
        let summary = select
            .summary
            .as_ref()
            .and_then(|sel| row.select(&sel.selector).next())
            .map(element_text);
        let mut item = Item::new(None, &title, link, summary.as_deref(), published);
        if let Some(identity) = identity
            && !items::apply_identity(&mut item, identity, Some(&row.html()))
        {
            stats.unidentified += 1;
        }
        out.push(item);
    }
    if stats.rows == 0 {
        return Err(ParseError::NoRows(select.item.text.clone()));
    }
    if out.is_empty() && stats.untitled > 0 {
        return Err(ParseError::NoTitles {
            rows: stats.untitled,
            selector: select.title.text.clone(),
        });
    }
    Ok(Parsed { items: out, stats })
}

static A: std::sync::LazyLock<scraper::Selector> = std::sync::LazyLock::new(|| {
    scraper::Selector::parse("a[href], a[onclick]").expect("valid selector")
});

fn keep_row(row: ElementRef<'_>, filter: &RowFilter) -> bool {
    let text = match &filter.selector {
        Some(sel) => row
            .select(&sel.selector)
            .map(element_text)
            .collect::<Vec<_>>()
            .join(" "),
        None => element_text(row),
    };
    filter
        .any_of
        .iter()
        .any(|needle| text.contains(needle.as_str()))
}

fn has_link(el: ElementRef<'_>) -> bool {
    el.value().attr("href").is_some() || el.value().attr("onclick").is_some()
}

/// The link of an element: its `href`, or — with `link_pattern` — the template filled from the
/// pattern's match in `href`, then in `onclick` (boards whose rows open with
/// `javascript:article.view('172070')`).
fn link_of(el: ElementRef<'_>, select: &ListSelectors) -> Option<String> {
    let href = el.value().attr("href");
    let (Some(pattern), Some(template)) = (&select.link_pattern, &select.link_template) else {
        return href.map(str::to_owned);
    };
    let onclick = el.value().attr("onclick");
    let captures = [href, onclick]
        .into_iter()
        .flatten()
        .find_map(|text| pattern.regex.captures(text));
    match captures {
        Some(captures) => {
            let mut link = template.get_ref().clone();
            for (i, group) in captures.iter().enumerate().skip(1) {
                link = link.replace(&format!("{{{i}}}"), group.map_or("", |g| g.as_str()));
            }
            Some(link)
        }
        // A plain link (the board's newer rows carry a real href next to the same onclick);
        // `items::resolve_link` refuses a leftover `javascript:` one.
        None => href.map(str::to_owned),
    }
}

fn element_text(el: ElementRef<'_>) -> String {
    items::collapse_whitespace(&el.text().collect::<String>())
}

/// Honours `<base href>` when the page has one.
fn page_base(page: &Html, url: &Url) -> Url {
    static BASE: std::sync::LazyLock<scraper::Selector> = std::sync::LazyLock::new(|| {
        scraper::Selector::parse("base[href]").expect("valid selector")
    });
    page.select(&BASE)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| url.join(h).ok())
        .unwrap_or_else(|| url.clone())
}
