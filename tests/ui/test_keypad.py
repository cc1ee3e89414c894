"""The on-screen keypad and NumberField: keys, range, refusals with the reason, keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from ui.theme import TOUCH_TARGET_MM, px_for_mm
from ui.widgets.keypad import (
    BACKSPACE,
    CANCEL,
    CLEAR,
    MIN_KEY_PX,
    MINUS,
    OK,
    POINT,
    Keypad,
    NumberField,
    NumberRange,
)


def typed(keypad: Keypad, keys: str) -> None:
    for key in keys:
        keypad.press(key)


def test_keys_are_touch_targets_and_range_and_unit_are_shown(qtbot):
    keypad = Keypad("Shelve for", NumberRange(1, 1440, 0, "min"), 60)
    qtbot.addWidget(keypad)
    keypad.show()
    side = max(MIN_KEY_PX, px_for_mm(keypad.screen(), TOUCH_TARGET_MM))
    for name in "0123456789" + BACKSPACE + CLEAR + MINUS:
        button = keypad.keys[name]
        assert min(button.width(), button.height()) >= side, name
    assert min(keypad.keys[OK].height(), keypad.keys[CANCEL].height()) >= side
    assert keypad.unit.text() == "min"
    assert keypad.range.text() == "Allowed: 1 to 1440 min"
    assert keypad.text() == "60"
    # Whole minutes from 1: no decimal point, no minus.
    assert not keypad.keys[POINT].isEnabled() and not keypad.keys[MINUS].isEnabled()


def test_typing_replaces_the_old_value_then_edits(qtbot):
    keypad = Keypad("Setpoint", NumberRange(-10, 50, 1, "Hz"), 40)
    qtbot.addWidget(keypad)
    typed(keypad, "45")
    assert keypad.text() == "45"
    typed(keypad, POINT + "25")  # one decimal place only: the 5 is not taken
    assert keypad.text() == "45.2"
    keypad.press(BACKSPACE)
    keypad.press(BACKSPACE)
    assert keypad.text() == "45"
    keypad.press(MINUS)
    assert keypad.text() == "-45"
    keypad.press(CLEAR)
    assert keypad.text() == ""
    typed(keypad, "007")
    assert keypad.text() == "7"
    with pytest.raises(ValueError):
        keypad.press("x")


def test_ok_refuses_out_of_range_with_the_reason_and_stays_open(qtbot):
    keypad = Keypad("Shelve for", NumberRange(1, 1440, 0, "min"), 60)
    qtbot.addWidget(keypad)
    keypad.open()
    typed(keypad, "2000")
    keypad.press(OK)
    assert keypad.isVisible() and keypad.value() is None
    assert keypad.refusal() == "✕ 2000 min is above the maximum, 1440 min"
    keypad.press(CLEAR)
    assert keypad.refusal() == ""
    keypad.press("0")
    keypad.press(OK)
    assert keypad.refusal() == "✕ 0 min is below the minimum, 1 min"
    keypad.press(CLEAR)
    keypad.press(OK)
    assert keypad.refusal() == "✕ Enter a number"
    typed(keypad, "90")
    keypad.press(OK)
    assert keypad.result() == QDialog.DialogCode.Accepted and keypad.value() == 90.0
    assert not keypad.isVisible()


def test_cancel_and_the_keyboard(qtbot):
    keypad = Keypad("Setpoint", NumberRange(30, 50, 1, "Hz"), 40)
    qtbot.addWidget(keypad)
    keypad.open()
    qtbot.keyClicks(keypad, "42,5")
    assert keypad.text() == "42.5"
    qtbot.keyClick(keypad, Qt.Key.Key_Backspace)
    assert keypad.text() == "42."
    qtbot.keyClick(keypad, Qt.Key.Key_Return)
    assert keypad.value() == 42.0
    again = Keypad("Setpoint", NumberRange(30, 50, 1, "Hz"), 40)
    qtbot.addWidget(again)
    again.open()
    qtbot.keyClick(again, Qt.Key.Key_Escape)
    assert again.result() == QDialog.DialogCode.Rejected and again.value() is None


def test_range_checks():
    limits = NumberRange(0, 10, 2, "bar")
    assert limits.check("2.25") == (2.25, "")
    assert limits.check("2.255")[1] == "At most 2 decimal places"
    assert limits.check("abc")[1] == "“abc” is not a number"
    assert limits.check("nan")[1] == "“nan” is not a number"
    assert NumberRange(0, 10).check("2.5")[1] == "Whole numbers only"
    with pytest.raises(ValueError):
        NumberRange(5, 1)


def test_number_field_opens_the_keypad_on_tap_and_takes_its_value(qtbot):
    field = NumberField(NumberRange(1, 1440, 0, "min"), 60, "Shelve for")
    qtbot.addWidget(field)
    field.show()
    changes: list[float] = []
    field.valueChanged.connect(changes.append)
    qtbot.mouseClick(field.edit, Qt.MouseButton.LeftButton)
    keypad = field.keypad
    assert keypad is not None and keypad.isVisible()
    assert keypad.text() == "60" and keypad.windowTitle() == "Shelve for"
    typed(keypad, "45")
    keypad.press(OK)
    assert field.value() == 45.0 and field.edit.text() == "45" and changes == [45.0]
    assert field.keypad is None
    # Cancel keeps the value.
    keypad = field.open_keypad()
    typed(keypad, "9")
    keypad.press(CANCEL)
    assert field.value() == 45.0 and changes == [45.0]


def test_number_field_takes_typing_and_refuses_out_of_range(qtbot):
    field = NumberField(NumberRange(1, 1440, 0, "min"), 60)
    qtbot.addWidget(field)
    field.show()
    field.edit.setFocus()
    field.edit.selectAll()
    qtbot.keyClicks(field.edit, "5000")
    qtbot.keyClick(field.edit, Qt.Key.Key_Return)
    assert field.value() == 60.0 and field.edit.text() == "60"
    assert field.refusal() == "✕ 5000 min is above the maximum, 1440 min"
    field.edit.selectAll()
    qtbot.keyClicks(field.edit, "120")
    qtbot.keyClick(field.edit, Qt.Key.Key_Return)
    assert field.value() == 120.0 and field.refusal() == ""
    assert not field.set_value(0) and field.value() == 120.0
    with pytest.raises(ValueError):
        NumberField(NumberRange(1, 10), 20)
