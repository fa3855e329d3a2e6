"""Answers as the supplier APIs send them (shapes from sandbox/README.md), for MockTransport tests."""

from __future__ import annotations

from typing import Any

CONFERENCE = {
    "conferenceId": "serverlessdays-amsterdam-2027",
    "name": "ServerlessDays Amsterdam 2027",
    "city": "Amsterdam",
    "country": "NL",
    "airport": "AMS",
    "startDate": "2027-06-03",
    "endDate": "2027-06-04",
    "price": {"amount": "249.00", "currency": "EUR"},
}
TICKET = {
    "reference": "CT-4F9K2M7Q",
    "status": "active",
    "conference": CONFERENCE,
    "price": {"amount": "249.00", "currency": "EUR"},
    "createdAt": "2026-11-20T22:50:00.000Z",
    "undoneAt": None,
}
LEG_OUT = {
    "number": "SB 1234",
    "from": "BER",
    "to": "AMS",
    "departure": "2027-06-02T07:10:00Z",
    "arrival": "2027-06-02T08:35:00Z",
}
LEG_BACK = {
    "number": "SB 1235",
    "from": "AMS",
    "to": "BER",
    "departure": "2027-06-05T16:40:00Z",
    "arrival": "2027-06-05T18:05:00Z",
}
FLIGHT = {
    "reference": "FL-7K3M9Q2A",
    "status": "active",
    "mode": "flight",
    "origin": "BER",
    "destination": "AMS",
    "outbound": LEG_OUT,
    "return": LEG_BACK,
    "price": {"amount": "189.00", "currency": "EUR"},
    "createdAt": "2026-11-20T22:50:00.000Z",
    "undoneAt": None,
    "someFutureField": 1,
}
TRAIN = {**FLIGHT, "reference": "RL-2M8Q4Z7K", "mode": "train"}
RESERVATION = {
    "reference": "HT-2M8Q4Z7K",
    "status": "active",
    "hotel": {"hotelId": "ams-canal-house", "name": "Canal House Amsterdam", "city": "Amsterdam"},
    "checkIn": "2027-06-02",
    "checkOut": "2027-06-05",
    "nights": 3,
    "nightlyPrice": {"amount": "145.00", "currency": "EUR"},
    "price": {"amount": "435.00", "currency": "EUR"},
    "createdAt": "2026-11-20T22:50:00.000Z",
    "undoneAt": None,
}
REFUND = {
    "refundId": "re_1",
    "paymentId": "pay_1",
    "amount": "30.00",
    "currency": "EUR",
    "reason": "late",
    "status": "succeeded",
    "createdAt": "2026-11-20T22:50:00.000Z",
}
PAYMENT: dict[str, Any] = {
    "paymentId": "pay_1",
    "bookingId": "b-1",
    "amount": "1234.50",
    "currency": "EUR",
    "status": "pending",
    "checkoutUrl": "http://127.0.0.1:7080/payment/checkout/pay_1",
    "failureReason": None,
    "refundedAmount": "0.00",
    "refunds": [],
    "createdAt": "2026-11-20T22:50:00.000Z",
    "updatedAt": "2026-11-20T22:50:00.000Z",
}
REPORT = {
    "reference": "EX-9Q2M4K7Z",
    "status": "active",
    "bookingId": "b-1",
    "lines": [
        {
            "category": "ticket",
            "description": "ticket",
            "reference": "CT-1",
            "amount": "249.00",
            "currency": "EUR",
        }
    ],
    "total": {"amount": "249.00", "currency": "EUR"},
    "createdAt": "2026-11-20T22:50:00.000Z",
    "undoneAt": None,
}
