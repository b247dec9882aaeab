"""Personal data inside what customers type is masked; order ids and the rest stay readable."""
from __future__ import annotations

import pytest

from handoff.summary import mask_text


@pytest.mark.parametrize("text, expected", [
    ("我的手机13812345678", "我的手机138****5678"),
    ("电话 138 1234 5678 或 139-1234-5678", "电话 138****5678 或 139****5678"),
    ("+86 13812345678", "138****5678"),
    ("座机021-61234567", "座机021-****4567"),
    ("地址是上海市浦东新区张江路100号2栋，快点送", "地址是上海市浦东新区****，快点送"),
    ("寄到广东省深圳市南山区科技园路66号3栋吧", "寄到广东省深圳市南山区****吧"),
    ("改成北京市朝阳区望京街道10号楼1单元302", "改成北京市朝阳区****"),
    ("我住在北京朝阳区望京街道10号楼", "我住在北京朝阳区****"),
    ("地址：张江路100号", "地址：****"),  # no region: nothing of it shown
    ("收货人张伟，电话13812345678", "收货人张*，电话138****5678"),
    ("身份证110105199001011234", "身份证******"),
])
def test_personal_data_is_masked(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize("text", [
    "订单2411051234567890到了吗",   # order ids stay: the agent needs them
    "顺丰SF1234567890123",
    "北京发货到上海要几天",           # places without a street are not addresses
    "上海的快递怎么还没到",
    "送到哪了",
    "我买了3件，花了599元",
])
def test_what_is_not_personal_stays(text):
    assert mask_text(text) == text


def test_known_values_from_the_order_are_masked_wherever_they_appear():
    known = ["李娜", "13912345678", "杭州市西湖区文三路1号"]
    text = "我是李娜，文三路那个地址：杭州市西湖区文三路1号，号码13912345678"
    assert mask_text(text, known) == "我是李*，文三路那个地址：杭州市西湖区****，号码139****5678"
