"""Files on the offline Bot API (bot/telegram/offline.py): ``getFile`` and downloads
of files users sent, and ``sendDocument`` (multipart uploads, as python-telegram-bot
makes them), within Telegram's limits. Kept by file id in the stub's ``files``."""

from __future__ import annotations

from typing import Any

MAX_CAPTION = 1024
MAX_UPLOAD = 50 * 1024 * 1024  # a bot may send files up to 50 MB


class FileMethods:
    files: dict[str, bytes]
    strict: bool
    calls: list[Any]
    _lock: Any

    def _message(self, chat_id: Any, text: str, message_id: int | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise _error(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    def download(self, file_path: str) -> bytes:
        """The bytes behind a file URL's ``documents/<file_id>`` path."""
        file_id = file_path.rsplit("/", 1)[-1]
        with self._lock:
            self.calls.append(_call("download", {"file_id": file_id}))
        if file_id not in self.files:
            raise _error(404, "Not Found")
        return self.files[file_id]

    def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        """A file upload (multipart): its bytes are kept in ``self.files`` (by file_id)."""
        ref = str(params.get("document") or "")
        files = params.get("_files") or {}
        if not ref.startswith("attach://") or ref[len("attach://") :] not in files:
            raise _error(400, "Bad Request: there is no document in the request")
        name, data, mime = files[ref[len("attach://") :]]
        if not data:
            raise _error(400, "Bad Request: file must be non-empty")
        if len(data) > MAX_UPLOAD:
            raise _error(413, "Request Entity Too Large")
        caption = params.get("caption") or ""
        if self.strict and caption:
            if params.get("parse_mode") == "HTML":
                problem = _html_problem(caption)
                if problem:
                    raise _error(400, f"Bad Request: can't parse entities: {problem}")
            if len(caption) > MAX_CAPTION:
                raise _error(400, "Bad Request: message caption is too long")
        message = self._message(params["chat_id"], "")
        del message["text"]
        file_id = f"doc{message['message_id']}"
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "mime_type": mime,
            "file_size": len(data),
        }
        if caption:
            message["caption"] = caption
        with self._lock:
            self.files[file_id] = data
        return message


def _error(code: int, description: str) -> Exception:
    from bot.telegram.offline import ApiError

    return ApiError(code, description)


def _html_problem(text: str) -> str | None:
    from bot.telegram.offline import check_telegram_html

    return check_telegram_html(text)


def _call(method: str, params: dict[str, Any]) -> Any:
    from bot.telegram.offline import Call

    return Call(method, params)
