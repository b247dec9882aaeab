import pytest

from bot.masking import mask_address, mask_name, mask_phone
from bot.patterns import find_order_id, is_order_id


@pytest.mark.parametrize("text, expected", [
    ("我的订单 2611081234567890 到哪了", "2611081234567890"),
    ("订单号2611081234567890", "2611081234567890"),
    ("订单号２６１１０８１２３４５６７８９０", "2611081234567890"),   # full-width digits
    ("电话 13812345678", None),                                        # a phone is not an order
    ("26110812345678901", None),                                       # 17 digits: too long
    ("SF1234567890123", None),                                         # a courier number
    ("没有号码", None),
])
def test_find_order_id(text, expected):
    assert find_order_id(text) == expected


def test_is_order_id_needs_exactly_sixteen_digits():
    assert is_order_id("2611081234567890")
    assert not is_order_id("261108123456789")
    assert not is_order_id("2611081234567890 ")


def test_masks():
    assert mask_name("张伟") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("123") == "****"
    assert mask_address("上海市浦东新区张江路 100 号 2 栋") == "上海市浦东新区****"
    xinjiang = "新疆维吾尔自治区乌鲁木齐市天山区"
    assert mask_address(xinjiang + "人民路 1 号") == xinjiang + "****"
    assert mask_address("广东省深圳市南山区科技园路66号3栋") == "广东省深圳市南山区****"
    assert mask_address("某某路 1 号") == "某某****"


@pytest.mark.parametrize("number, courier", [
    ("SF1234567890123", "SF"), ("sf1234567890123", "SF"), ("YT1234567890123", "YTO"),
    ("JD0012345678901", "JD"), ("71234567890123", "ZTO"), ("4312345678901", "YD"),
    ("7712345678901", "STO"), ("1123456789012", "EMS"), ("EA123456789CN", "EMS"),
    ("SF12", None), ("2611081234567890", None), ("13812345678", None), ("", None),
])
def test_courier_of_tracking_number(number, courier):
    from bot.patterns import courier_of_tracking_number
    assert courier_of_tracking_number(number) == courier
