"""The control-character helpers every channel and the agents' console share."""
import pytest

from channels.messages import has_control_chars, strip_control_chars

CONTROLS = [chr(code) for code in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]
KEPT = ["\t", "\n", "\r", " ", "\x80", "\u200b", "你", "😀"]


@pytest.mark.parametrize("char", CONTROLS, ids=lambda char: f"U+{ord(char):04X}")
def test_each_control_character_is_stripped_and_detected(char):
    assert strip_control_chars(f"退{char}货") == "退货"
    assert has_control_chars(f"退{char}货")


@pytest.mark.parametrize("char", KEPT, ids=lambda char: f"U+{ord(char):04X}")
def test_tab_newlines_and_ordinary_text_are_kept(char):
    # Tab and newlines are typed by people; the other ranges are the concern of other cleaners.
    assert strip_control_chars(f"退{char}货") == f"退{char}货"
    assert not has_control_chars(f"退{char}货")


def test_strip_leaves_surrounding_blanks_to_the_caller():
    assert strip_control_chars(" \x00订单\x1b ") == " 订单 "
