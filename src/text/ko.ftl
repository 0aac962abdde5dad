# policy-watch: what the bot says, in Korean (the default language).
#
# Messages are Telegram HTML: <b>, <code> and entities as Telegram reads them. Variables arrive
# already escaped by the Rust side (src/text/), and are plain text in "plain" messages (button
# labels, toasts, headings that the renderer escapes itself). Lines and lists are laid out in
# Rust; a message is one sentence or one block. en.ftl must have the same messages with the same
# variables (a test compares them).

## The commands as setMyCommands registers them (plain text).

command-start = 시작하기: 봇 소개와 주제 선택
command-topics = 주제 목록과 구독 버튼
command-subscribe = 주제 구독: /subscribe 주제… 또는 all
command-unsubscribe = 구독 해지: /unsubscribe 주제… 또는 all
command-mysubs = 내 구독 보기
command-recent = 최근 알림: /recent [주제] [개수]
command-watch = 내 키워드 알림: /watch 키워드…
command-unwatch = 키워드 알림 해지: /unwatch 키워드… 또는 all
command-watches = 내 키워드 보기
command-search = 지난 소식 검색: /search 검색어 [개수]
command-digest = 하루 한 번 요약: /digest on [HH:MM] | off
command-stop = 모든 구독 해지, 대화 기록 삭제
command-help = 도움말

## /start and /help

greeting =
    안녕하세요! <b>policy-watch</b> 봇입니다.
    지켜보는 부처가 다음 주제({ $topics })에 관한 자료를 내면 몇 분 안에 알려 드립니다.

    아래 버튼으로 받을 주제를 고르세요(지금은 선택된 주제가 없습니다). 구독 이후의 새 소식만 보내 드리며, 지난 소식은 /recent 로 볼 수 있습니다.
    명령어 목록: /help
# Ends a topic list cut short in the greeting.
greeting-more-topics = {" "}등
help-heading = <b>명령어</b>
help-groups-and-words =
    그룹에서는 그룹 관리자만 구독을 바꿀 수 있습니다. 주제는 id나 이름으로 지정합니다 (예: <code>/subscribe ai_chip_npu 인재</code>).
    주제 밖의 관심사는 키워드로: <code>/watch 퓨리오사</code> 하면 그 말이 들어간 새 소식이 주제와 상관없이 옵니다(👀 표시). 지난 소식은 <code>/search 검색어</code>로 찾습니다.
help-operators =
    <b>운영자</b>
    /status — 소스·발송 상태
    /reload — 설정 다시 읽기
short-help = 명령어만 알아듣습니다. 주제 선택은 /topics, 전체 목록은 /help 입니다.

## Topics and subscriptions

topics-heading = <b>주제</b> — 버튼을 누르면 구독(✅)과 해지(▫️)가 바뀝니다.
# A tap on a topic button, shown as a toast (plain text).
toggled-on = 구독: { $topic }
toggled-off = 구독 해지: { $topic }
topic-gone = 이 주제는 더 이상 없습니다. 목록을 새로 고쳤습니다.
subscribed-added = 구독했습니다
subscribed-already = 이미 구독 중입니다
unsubscribed-removed = 구독을 해지했습니다
unsubscribed-not-subscribed = 구독하고 있지 않던 주제입니다
your-topics-now = 지금 받는 주제:
no-topics-left = 이제 받는 주제가 없습니다. /topics 로 다시 고를 수 있습니다.
unknown-topic = 모르는 주제입니다: { $words }
ambiguous-topic = { $word }: 여러 주제에 해당합니다 — { $topics }. 더 자세히 적어 주세요.
nothing-changed = 아무것도 바꾸지 않았습니다.
valid-topics = 사용할 수 있는 주제(id 또는 이름, 여러 개는 띄어쓰기나 쉼표로):
or-all = 또는 <code>all</code>
subscribe-usage = 사용법: <code>/subscribe 주제…</code> 또는 <code>/subscribe all</code>. 버튼으로 고르려면 /topics
mysubs-nothing = 구독 중인 주제가 없습니다. /topics 로 골라 보세요.
mysubs-heading = <b>내 구독</b>
mysubs-no-topics = 주제 없음 (/topics)
mysubs-watch-words = <b>내 키워드</b> 👀
delivery-digest = 받는 방식: 매일 { $time } (KST) 요약
delivery-each = 받는 방식: 소식마다 바로

## Watch words and /search

watches-heading = <b>내 키워드</b> 👀 ({ $count }/{ $max })
watches-remove = 해지: <code>/unwatch 키워드</code> 또는 <code>/unwatch all</code>
watches-none = 등록한 키워드가 없습니다. <code>/watch 퓨리오사</code>처럼 등록하면, 주제와 상관없이 그 말이 들어간 새 소식을 보내 드립니다.
watch-usage = 사용법: <code>/watch 키워드…</code> (여럿은 띄어 쓰거나, 띄어쓰기가 있는 말은 <code>"AI 기본법"</code>처럼 따옴표로). 띄어쓰기와 문장부호는 무시하며, 영문은 단어 단위로 찾습니다(<code>HBM*</code>는 HBM3E도 찾음).
watched-added = 등록했습니다
watched-already = 이미 등록됨
unwatched-removed = 해지했습니다
unwatched-unknown = 등록되지 않은 키워드
unwatch-usage = 사용법: <code>/unwatch 키워드…</code> 또는 <code>/unwatch all</code>
watch-disabled = 이 봇에서는 키워드 알림을 쓸 수 없습니다. 주제 구독은 /topics 입니다.
# Why a typed word was refused; shown as "✗ word — reason".
refusal-length = { $chars }자입니다. 2–40자로 써 주세요
refusal-no-letters = 글자나 숫자가 없습니다
refusal-too-short = 너무 짧습니다. 한글 두 글자 또는 세 글자 이상으로 써 주세요
refusal-too-generic = 너무 흔합니다. 최근 소식 { $sample }건 중 { $percent }%에 나옵니다. 더 구체적인 말로 써 주세요
refusal-limit = 키워드는 채팅마다 { $max }개까지입니다. /unwatch 로 정리해 주세요
refusal-invisible = 보이지 않는 문자뿐입니다(웹 페이지에서 복사하면 섞여 들어옵니다). 직접 입력해 주세요
refusal-anchor = 너무 흔합니다. 이 봇이 보내는 소식 대부분에 나오는 말입니다. 더 구체적인 말로 써 주세요
refusal-too-many = ✗ 한 번에 { $read }개까지만 읽습니다. 나머지 { $ignored }개는 다시 보내 주세요
search-usage = 사용법: <code>/search 검색어 [개수]</code> — 주제와 상관없이 지금까지 본 모든 소식의 제목과 요약에서 찾습니다 (예: <code>/search 퓨리오사 10</code>).
# Heading of an answer (plain text).
search-heading = 검색 "{ $query }" — 최신 { $count }건
search-empty = "{ $query }"이(가) 들어간 소식이 없습니다 (최근 { $kept } 동안 본 소식에서 찾았습니다).

## /recent and /digest

# Headings of an answer (plain text).
recent-heading = 최근 알림 { $count }건
recent-heading-topic = 최근 알림 { $count }건 — { $topic }
recent-empty = 아직 기록된 알림이 없습니다.
recent-usage = 사용법: <code>/recent [주제] [개수 1-20]</code>
digest-on = 이제 소식을 모아 매일 { $time } (한국 시간)에 한 번 보내 드립니다. 소식이 없는 날에는 보내지 않습니다. 끄려면 <code>/digest off</code>
digest-off = 요약을 껐습니다. 이제 소식마다 바로 보내 드리며, 모아 둔 소식은 지금 한 번에 보냅니다.
digest-usage = 사용법: <code>/digest on [HH:MM]</code> (기본 08:00, 한국 시간) 또는 <code>/digest off</code>
digest-now-on = 지금: 매일 { $time } 요약
digest-now-off = 지금: 꺼짐
digest-bad-time = { $given }: 시각을 읽을 수 없습니다. 00:00부터 23:59 사이로, 예: <code>/digest on 08:30</code> (한국 시간)
# The first line of a digest; $part is empty or " (2/3)" when the digest takes several messages.
digest-heading = 🗞 { $day } 정책 소식 요약 — { $count }건{ $part }

## The chat as a whole

stopped = 모든 구독을 해지하고 이 대화의 설정을 지웠습니다. 다시 받으려면 /start
not-subscribed = 아직 구독하지 않았습니다. /start 로 시작하세요.
group-admins-only = 죄송합니다. 이 그룹의 구독은 그룹 관리자만 바꿀 수 있습니다.
operators-only = 운영자 전용 명령입니다.
# A toast (plain text).
slow-down = 명령이 너무 많습니다. { $seconds }초 뒤에 다시 시도해 주세요.

## Operators

reloaded = 설정을 다시 읽었습니다: 소스 { $sources }개 (사용 { $enabled }개), 주제 { $topics }개.
# Followed by the error on its own line.
reload-failed = 설정을 적용하지 않았습니다. 지금 설정이 그대로 쓰입니다.
reload-unavailable = 이 실행에서는 설정을 다시 읽을 수 없습니다 (설정 파일 경로가 없음).
status-heading =
    <b>policy-watch { $version }</b>
    가동 시간 { $uptime }
    발송 대기 { $outbox } · 보류(dead letter) { $dead }
    구독자 { $active } (전체 { $total }) · 키워드 알림 { $watching }
status-disabled = 꺼짐
status-never = 없음
status-source = 마지막 성공 { $last } · 다음 수집 { $next } · 본 항목 { $seen }
status-failing = ⚠️ 연속 실패 { $failures }회: { $error }
status-more-sources = … 소스 { $count }개 더
