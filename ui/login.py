"""Logging in to a remote runtime: the user and password dialog, and trusting a certificate
on first use. Both are opened without a nested event loop (`answer`), so the qasync loop
keeps running the link and the clock while they are on screen."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ui.theme import named


async def answer(dialog: QDialog) -> int:
    """Open `dialog` and wait for its result (Accepted or Rejected) on the running loop."""
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not done.done():
            done.set_result(result)

    dialog.finished.connect(finished)
    dialog.open()
    return await done


class LoginDialog(QDialog):
    """User and password for a runtime, with the reason a previous attempt was refused."""

    def __init__(self, url: str, user: str = "", reason: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Log in to the runtime"))
        self.setModal(True)
        where = named(QLabel(self.tr("Runtime at {url}").format(url=url)), "sectionTitle")
        self.reason = named(QLabel(reason), "refusal")
        self.reason.setWordWrap(True)
        self.reason.setVisible(bool(reason))
        self.user = QLineEdit(user)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.addRow(self.tr("User"), self.user)
        form.addRow(self.tr("Password"), self.password)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Log in"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(where)
        layout.addWidget(self.reason)
        layout.addLayout(form)
        layout.addWidget(buttons)
        (self.password if user else self.user).setFocus(Qt.FocusReason.OtherFocusReason)


def trust_question(url: str, fingerprint: str, parent: QWidget | None = None) -> QMessageBox:
    """The question asked once per runtime: trust the certificate it presents?"""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(box.tr("Trust this runtime?"))
    box.setText(box.tr("The runtime at {url} presents a certificate this panel has not seen "
                       "before.").format(url=url))
    box.setInformativeText(box.tr(
        "Its SHA-256 fingerprint is:\n\n{fingerprint}\n\nCompare it with the one the runtime "
        "logged at its start (or its api-endpoint.json). Trust it only if they are the "
        "same; it is then remembered, and a runtime presenting another certificate is "
        "refused.").format(fingerprint=fingerprint))
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.Yes).setText(box.tr("Trust"))
    box.button(QMessageBox.StandardButton.No).setText(box.tr("Do not connect"))
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box
