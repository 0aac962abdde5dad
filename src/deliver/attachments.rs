//! The release's own files (PDF, HWPX, HWP) in the notice: "📎 NAME.pdf · NAME.hwpx".
//!
//! No feed carries them. korea.kr's view page (`pressReleaseView.do?newsId=N`) lists them in
//! `div.filedown dl dd p` as `a[href^="/common/download.do?fileId=N…"]` with the file name as the
//! link text (the same fileId again behind 바로보기 and 내려받기); 산업통상부's view page
//! (`/kor/article/<board>/<id>/view`) in `li.info-down` as `javascript:location.href='/attach/down/…'`
//! with "NAME.pdf [47.9 KB]". MSIT's site offers no GET link; its releases are republished on
//! korea.kr, whose copy carries them when it is the one sent.
//!
//! A view page is fetched only for a notice that is being sent, once per release (the copies for
//! every destination wait for the same fetch), through the sources' fetcher (the same timeouts,
//! body cap and per-host limit as a poll, and the source's proxy). The notice waits at most
//! [`WAIT`] for it; a failure or a slow page only leaves the line out, with a log line.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scraper::{Html, Selector};
use tokio::sync::OnceCell;
use url::Url;

use crate::config::SourceConfig;
use crate::records::{Attachment, Notice};
use crate::sources::{Fetched, Fetcher, Validators};

/// The longest a notice waits for its attachments.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// Releases whose attachments are remembered at most (then forgotten and looked up again).
const REMEMBERED: usize = 512;

/// Where a release's files are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewPage {
    /// korea.kr's `pressReleaseView.do?newsId=N`.
    KoreaKr,
    /// 산업통상부's `/kor/article/<board>/<id>/view`.
    Motir,
}

/// The kind of view page `link` is, if it lists attachments.
pub(crate) fn view_page(link: &Url) -> Option<ViewPage> {
    let path = link.path();
    if path.ends_with("/briefing/pressReleaseView.do")
        && link.query_pairs().any(|(k, _)| k == "newsId")
    {
        return Some(ViewPage::KoreaKr);
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let ["kor", "article", _board, id, "view"] = parts.as_slice()
        && id.chars().all(|c| c.is_ascii_digit())
    {
        return Some(ViewPage::Motir);
    }
    None
}

/// The files a view page lists, each once, in page order.
pub(crate) fn parse(kind: ViewPage, html: &str, base: &Url) -> Vec<Attachment> {
    let document = Html::parse_document(html);
    let mut out: Vec<Attachment> = Vec::new();
    let mut push = |name: &str, href: &str| {
        let name = crate::items::clean_text(name);
        let Ok(url) = base.join(href) else { return };
        if name.is_empty() || out.iter().any(|a| a.url == url.as_str()) {
            return;
        }
        out.push(Attachment {
            name,
            url: url.to_string(),
        });
    };
    match kind {
        ViewPage::KoreaKr => {
            let links = Selector::parse("div.filedown dl dd p a[href*=\"download.do\"]")
                .expect("a valid selector");
            for a in document.select(&links) {
                let text: String = a.text().collect();
                let text = text.trim();
                // 내려받기 repeats a link whose name came first.
                if text.is_empty() || text == "내려받기" || text == "바로보기" {
                    continue;
                }
                if let Some(href) = a.value().attr("href") {
                    push(text, href);
                }
            }
        }
        ViewPage::Motir => {
            let links = Selector::parse("li.info-down a").expect("a valid selector");
            for a in document.select(&links) {
                let script = [a.value().attr("href"), a.value().attr("onclick")]
                    .into_iter()
                    .flatten()
                    .find(|s| s.contains("/attach/down/"));
                let Some(href) = script.and_then(|s| {
                    let start = s.find("/attach/down/")?;
                    let end = s[start..].find(['\'', '"']).map_or(s.len(), |e| start + e);
                    Some(&s[start..end])
                }) else {
                    continue;
                };
                let text: String = a.text().collect();
                // "NAME.pdf [47.9 KB]": the size is not part of the name.
                let name = text.trim();
                let name = match name.rfind(" [") {
                    Some(i) if name.ends_with(']') => &name[..i],
                    _ => name,
                };
                push(name, href);
            }
        }
    }
    out
}

/// Attachments looked up while notices are sent, shared by every copy of a release.
pub struct Attachments {
    fetcher: Fetcher,
    sources: HashMap<String, Arc<SourceConfig>>,
    found: Mutex<HashMap<String, Arc<OnceCell<Vec<Attachment>>>>>,
}

impl Attachments {
    /// Looks pages up with `fetcher`, as the source that listed the release would be polled.
    pub fn new(fetcher: Fetcher, sources: impl IntoIterator<Item = SourceConfig>) -> Attachments {
        Attachments {
            fetcher,
            sources: sources
                .into_iter()
                .map(|s| (s.id().to_owned(), Arc::new(s)))
                .collect(),
            found: Mutex::new(HashMap::new()),
        }
    }

    /// The notice with its release's attachments, when its link is a view page that lists them
    /// and the page answers within [`WAIT`]; else as it was.
    pub(crate) async fn attach(&self, notice: &mut Notice) {
        if !notice.attachments.is_empty() {
            return;
        }
        // The notice's own link, else the page of another copy of the release.
        let Some((link, kind)) = [notice.item.link.as_deref(), notice.files_page.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|l| Url::parse(l).ok())
            .find_map(|l| view_page(&l).map(|kind| (l, kind)))
        else {
            return;
        };
        let Some(source) = self.sources.get(&notice.source_id).cloned() else {
            return;
        };
        let cell = {
            let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
            if found.len() >= REMEMBERED {
                found.clear();
            }
            Arc::clone(found.entry(link.to_string()).or_default())
        };
        let lookup = cell.get_or_init(|| self.look_up(&source, kind, &link));
        match tokio::time::timeout(WAIT, lookup).await {
            Ok(files) => notice.attachments = files.clone(),
            Err(_) => tracing::warn!(
                source = %notice.source_id,
                "the view page {link} did not answer within {WAIT:?}: the notice goes without its attachments"
            ),
        }
    }

    async fn look_up(&self, source: &SourceConfig, kind: ViewPage, link: &Url) -> Vec<Attachment> {
        match self
            .fetcher
            .fetch_url(source, link, &Validators::default())
            .await
        {
            Ok(Fetched::Body(body)) => {
                let html =
                    crate::sources::decode::html_text(&body.bytes, body.content_type.as_deref());
                let files = parse(kind, &html, &body.final_url);
                if files.is_empty() {
                    tracing::debug!(source = %source.id(), "no attachments listed on {link}");
                }
                files
            }
            Ok(Fetched::NotModified { .. }) => Vec::new(),
            Err(e) => {
                tracing::warn!(source = %source.id(), "cannot read the attachments of {link}: {e}; the notice goes without them");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_pages_are_known_by_their_path() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            view_page(&url(
                "https://www.korea.kr/briefing/pressReleaseView.do?newsId=156700001"
            )),
            Some(ViewPage::KoreaKr)
        );
        assert_eq!(
            view_page(&url(
                "https://www.motir.go.kr/kor/article/ATCL3f49a5a8c/171234/view"
            )),
            Some(ViewPage::Motir)
        );
        assert_eq!(
            view_page(&url(
                "https://www.msit.go.kr/bbs/view.do?sCode=user&nttSeqNo=1"
            )),
            None
        );
        assert_eq!(
            view_page(&url("https://www.korea.kr/briefing/pressReleaseList.do")),
            None
        );
    }

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn a_korea_kr_view_page_gives_each_file_once_by_name() {
        let base = Url::parse("https://www.korea.kr/briefing/pressReleaseView.do?newsId=156700001")
            .unwrap();
        let files = parse(
            ViewPage::KoreaKr,
            &fixture("korea_kr_press_view_reconstructed.html"),
            &base,
        );
        assert_eq!(
            files,
            [
                Attachment {
                    name: "260310 국산 AI반도체 실증 사업 착수(보도자료).pdf".into(),
                    url: "https://www.korea.kr/common/download.do?fileId=197112345&tblKey=GMN"
                        .into(),
                },
                Attachment {
                    name: "260310 국산 AI반도체 실증 사업 착수(보도자료).hwpx".into(),
                    url: "https://www.korea.kr/common/download.do?fileId=197112346&tblKey=GMN"
                        .into(),
                },
            ]
        );
    }

    #[test]
    fn a_motir_view_page_gives_its_files_without_their_sizes() {
        let base =
            Url::parse("https://www.motir.go.kr/kor/article/ATCL3f49a5a8c/171234/view").unwrap();
        let files = parse(
            ViewPage::Motir,
            &fixture("motir_view_reconstructed.html"),
            &base,
        );
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "0310 반도체 소부장 기업 간담회(보도자료).pdf",
                "0310 반도체 소부장 기업 간담회(보도자료).hwpx"
            ]
        );
        assert_eq!(
            files[1].url,
            "https://www.motir.go.kr/attach/down/9f8e7d6c5b4a/1a2b3c4d5e6f/002"
        );
    }
}
