# policy-watch: what the bot says, in English (for users whose Telegram client reports a language
# other than Korean).
#
# Messages are Telegram HTML: <b>, <code> and entities as Telegram reads them. Variables arrive
# already escaped by the Rust side (src/text/), and are plain text in "plain" messages (button
# labels, toasts, headings that the renderer escapes itself). Lines and lists are laid out in
# Rust; a message is one sentence or one block. ko.ftl must have the same messages with the same
# variables (a test compares them).

## The commands as setMyCommands registers them (plain text).

command-start = Start: what the bot does, choose topics
command-topics = Topics and subscription buttons
command-subscribe = Subscribe: /subscribe topic… or all
command-unsubscribe = Unsubscribe: /unsubscribe topic… or all
command-mysubs = My subscriptions
command-recent = Recent notices: /recent [topic] [count]
command-watch = Your own words: /watch word…
command-unwatch = Stop watching: /unwatch word… or all
command-watches = Your watch words
command-search = Search past items: /search words [count]
command-digest = One daily summary: /digest on [HH:MM] | off
command-stop = Unsubscribe from everything and forget this chat
command-help = Help

## /start and /help

greeting =
    Hello! This is the <b>policy-watch</b> bot.
    When the ministries it watches publish something on these topics ({ $topics }), you hear about it within minutes.

    Choose your topics with the buttons below (none is selected yet). You get news from now on; /recent shows what came before.
    Commands: /help
# Ends a topic list cut short in the greeting.
greeting-more-topics = …
help-heading = <b>Commands</b>
help-groups-and-words =
    In groups only the group's administrators can change subscriptions. Name topics by id or by name (e.g. <code>/subscribe ai_chip_npu talent</code>).
    Follow your own words too: after <code>/watch FuriosaAI</code> every new item that contains it reaches you, whatever its topic (marked 👀). Find past items with <code>/search words</code>.
help-operators =
    <b>Operators</b>
    /status — sources and delivery
    /reload — re-read the config
short-help = I only understand commands: /topics to choose topics, /help for the list.

## Topics and subscriptions

topics-heading = <b>Topics</b> — tap a button to subscribe (✅) or unsubscribe (▫️).
# A tap on a topic button, shown as a toast (plain text).
toggled-on = Subscribed: { $topic }
toggled-off = Unsubscribed: { $topic }
topic-gone = That topic no longer exists; the list was refreshed.
subscribed-added = Subscribed
subscribed-already = Already subscribed
unsubscribed-removed = Unsubscribed
unsubscribed-not-subscribed = You were not subscribed to
your-topics-now = Your topics now:
no-topics-left = You have no topics now; /topics to choose again.
unknown-topic = Unknown topic: { $words }
ambiguous-topic = { $word }: fits several topics — { $topics }. Please be more specific.
nothing-changed = Nothing was changed.
valid-topics = Valid topics (id or name, several separated by spaces or commas):
or-all = or <code>all</code>
subscribe-usage = Usage: <code>/subscribe topic…</code> or <code>/subscribe all</code>. Buttons: /topics
mysubs-nothing = You have no topics yet. Choose some with /topics.
mysubs-heading = <b>My subscriptions</b>
mysubs-no-topics = no topics (/topics)
mysubs-watch-words = <b>Watch words</b> 👀
delivery-digest = Delivery: one daily summary at { $time } KST
delivery-each = Delivery: each notice as it comes

## Watch words and /search

watches-heading = <b>Watch words</b> 👀 ({ $count }/{ $max })
watches-remove = Remove: <code>/unwatch word</code> or <code>/unwatch all</code>
watches-none = You watch no words yet. With <code>/watch FuriosaAI</code>, every new item that contains the word reaches you, whatever its topic.
watch-usage = Usage: <code>/watch word…</code> (several separated by spaces; quote a phrase: <code>"AI basic act"</code>). Spacing and punctuation are ignored; Latin words match whole (<code>HBM*</code> also finds HBM3E).
watched-added = Now watching
watched-already = Already watched
unwatched-removed = No longer watching
unwatched-unknown = Not watched
unwatch-usage = Usage: <code>/unwatch word…</code> or <code>/unwatch all</code>
watch-disabled = Watch words are turned off on this bot. Topics: /topics
# Why a typed word was refused; shown as "✗ word — reason".
refusal-length = { $chars } characters; use 2 to 40
refusal-no-letters = it has no letters or digits
refusal-too-short = too short: use at least two Hangul syllables or three letters
refusal-too-generic = too common: it is in { $percent }% of the latest { $sample } items; try a more specific word
refusal-limit = a chat may watch { $max } words; remove some with /unwatch
refusal-invisible = only invisible characters (they come along when text is copied from a web page); type the word
refusal-anchor = too common: most of what this bot sends contains it; try a more specific word
refusal-too-many = ✗ one command reads { $read } words at most; send the other { $ignored } again
search-usage = Usage: <code>/search words [count]</code> — looks through the titles and summaries of every item seen, matched or not (e.g. <code>/search FuriosaAI 10</code>).
# Heading of an answer (plain text).
search-heading = Search "{ $query }" — latest { $count }
search-empty = No item contains "{ $query }" (searched everything seen in the last { $kept }).

## /recent and /digest

# Headings of an answer (plain text).
recent-heading = Latest { $count } notices
recent-heading-topic = Latest { $count } notices — { $topic }
recent-empty = No notices recorded yet.
recent-usage = Usage: <code>/recent [topic] [count 1-20]</code>
digest-on = From now on you get one summary a day at { $time } (Korea time), none on days without news. <code>/digest off</code> to stop.
digest-off = Daily summary off: each notice comes as it is published (notices already collected are sent now).
digest-usage = Usage: <code>/digest on [HH:MM]</code> (default 08:00, Korea time) or <code>/digest off</code>
digest-now-on = Now: daily at { $time }
digest-now-off = Now: off
digest-bad-time = { $given }: not a time of day. Use 00:00 to 23:59, e.g. <code>/digest on 08:30</code> (Korea time)
# The first line of a digest; $part is empty or " (2/3)" when the digest takes several messages.
digest-heading = 🗞 Policy digest for { $day } — { $count } notices{ $part }

## The chat as a whole

stopped = Unsubscribed from everything; this chat's settings are deleted. /start to come back.
not-subscribed = This chat has not subscribed yet. Send /start to begin.
group-admins-only = Sorry, only this group's administrators can change its subscriptions.
operators-only = This command is for the bot's operators only.
# A toast (plain text).
slow-down = Too many commands; try again in { $seconds } s.

## Operators

reloaded = Config reloaded: { $sources } sources ({ $enabled } enabled), { $topics } topics.
# Followed by the error on its own line.
reload-failed = The config was not applied; the running one stays.
reload-unavailable = This run cannot reload its config (no config file path).
status-heading =
    <b>policy-watch { $version }</b>
    up { $uptime }
    outbox { $outbox } · dead letters { $dead }
    subscribers { $active } active ({ $total } total) · { $watching } with watch words
status-disabled = disabled
status-never = never
status-source = last success { $last } · next poll { $next } · items seen { $seen }
status-failing = ⚠️ { $failures } failures in a row: { $error }
status-more-sources = … { $count } more sources
