"""Assemble the pieces one process needs: config, store, content, renderer, engine,
with every feature of bot.features installed."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import features
from bot.config import Config
from bot.content import ContentHolder
from bot.dialog.engine import Engine
from bot.dialog.services import ScheduledJob
from bot.logsafe import quiet_chatty_loggers
from bot.render import LiveRenderer, Renderer
from bot.store import Store


@dataclass
class App:
    config: Config
    store: Store
    content: ContentHolder
    renderer: Renderer
    engine: Engine
    # What the features run outside any turn (a channel schedules them).
    jobs: list[ScheduledJob] = field(default_factory=list)

    async def close(self) -> None:
        await self.store.close()


async def open_app(config: Config, content: ContentHolder | None = None) -> App:
    """Raises ContentError when the content has errors (run ``sanliang check``).
    ``content`` may be passed in already loaded (tests share one snapshot)."""
    quiet_chatty_loggers()  # libraries log message texts and SQL arguments at DEBUG
    if content is None:
        content, _report = ContentHolder.load(config.content_dir, config.locale)
    store = await Store.open(config.db_path)
    try:
        renderer: Renderer = LiveRenderer(content)
        engine = Engine(store, content, renderer, config)
        jobs = features.install(engine)
        if store.is_postgres:
            # A publish or reload in another worker process reaches this one too.
            from bot.admin.publish import publisher_of

            await store.listen("reload", publisher_of(engine).reloaded_elsewhere)
    except BaseException:
        await store.close()
        raise
    return App(config, store, content, renderer, engine, jobs)
