"""A room's invite and watch QR codes: the served SVG, rasterised and read back by a decoder."""

from __future__ import annotations

import io
import re

import pytest
import resvg_py
import zxingcpp
from django.test import Client
from PIL import Image

from game.models import Room
from game.web.qr import INK, qr_svg

pytestmark = pytest.mark.django_db


def decoded(svg: str) -> list[str]:
    """What a QR reader finds in ``svg`` once it is drawn as pixels (resvg, then ZXing)."""
    png = resvg_py.svg_to_bytes(svg_string=svg)
    image = Image.open(io.BytesIO(png)).convert("L")
    return [found.text for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.fixture
def room() -> Room:
    return Room.objects.create(name="Friday")


def test_the_play_qr_code_reads_as_the_rooms_invite_link(client: Client, room: Room) -> None:
    response = client.get(f"/rooms/{room.code}/qr/play.svg")
    assert response.status_code == 200
    assert decoded(response.content.decode()) == [f"http://testserver/rooms/{room.code}/"]


def test_the_invite_link_keeps_the_requests_scheme_and_host(client: Client, room: Room) -> None:
    response = client.get(f"/rooms/{room.code}/qr/play.svg", secure=True, headers={"host": "localhost:8443"})
    assert decoded(response.content.decode()) == [f"https://localhost:8443/rooms/{room.code}/"]


def test_the_watch_qr_code_reads_as_the_watch_link_not_the_invite(client: Client, room: Room) -> None:
    play = client.get(f"/rooms/{room.code}/qr/play.svg")
    watch = client.get(f"/rooms/{room.code}/qr/watch.svg")
    assert watch.status_code == 200
    assert decoded(watch.content.decode()) == [f"http://testserver/rooms/{room.code}/?watch=1"]
    assert watch.content != play.content


@pytest.mark.parametrize("which", ["play", "watch"])
def test_qr_codes_are_svg_images_cached_for_an_hour(client: Client, room: Room, which: str) -> None:
    response = client.get(f"/rooms/{room.code}/qr/{which}.svg")
    assert response["Content-Type"] == "image/svg+xml"
    assert "max-age=3600" in response["Cache-Control"]
    assert "no-store" not in response["Cache-Control"]


@pytest.mark.parametrize("which", ["play", "watch"])
def test_an_unknown_rooms_qr_code_is_404(client: Client, which: str) -> None:
    assert client.get(f"/rooms/nosuchroom/qr/{which}.svg").status_code == 404


def test_a_code_that_is_not_a_room_code_matches_no_qr_url(client: Client) -> None:
    assert client.get("/rooms/a%20b/qr/play.svg").status_code == 404


def test_qr_codes_answer_only_get(client: Client, room: Room) -> None:
    assert client.post(f"/rooms/{room.code}/qr/play.svg").status_code == 405


def test_the_svg_is_a_standalone_document_titled_with_its_link_in_the_pages_ink() -> None:
    svg = qr_svg("https://example.com/rooms/abcd/")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "<?xml" not in svg
    assert "<title>QR code for https://example.com/rooms/abcd/</title>" in svg
    assert f'stroke="{INK}"' in svg


def test_the_title_escapes_the_link() -> None:
    svg = qr_svg("https://example.com/?a=1&b=<i>")
    assert "<title>QR code for https://example.com/?a=1&amp;b=&lt;i&gt;</title>" in svg
    assert decoded(svg) == ["https://example.com/?a=1&b=<i>"]


@pytest.mark.parametrize("url", ["https://a.io/", "https://tictac.example.com/rooms/" + "x" * 32 + "/?watch=1"])
def test_short_and_long_links_draw_about_200_pixels_square(url: str) -> None:
    svg = qr_svg(url)
    size = re.search(r'width="(\d+)" height="(\d+)"', svg)
    assert size is not None
    width, height = int(size[1]), int(size[2])
    assert width == height
    assert 170 <= width <= 230
    # A short link still makes a full QR code (phones read few Micro QR codes).
    assert decoded(svg) == [url]
