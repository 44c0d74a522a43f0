"""Strings of the sign-in through the sector's identity platform (issue 15)."""

from __future__ import annotations

from typing import Final

VI: Final[dict[str, str]] = {
    "sso_sign_in": "Đăng nhập bằng tài khoản ngành giáo dục",
    "sso_or": "hoặc bằng tài khoản của hệ thống",
    "sso_failed": "Đăng nhập qua tài khoản ngành không thành công; vui lòng thử lại",
    "sso_refused": "Tài khoản ngành của bạn chưa được cấp quyền trên hệ thống này: {reason}",
    "sso_unavailable": "Không kết nối được máy chủ định danh của ngành; vui lòng thử lại sau",
    "sso_ended": "Phiên đăng nhập qua tài khoản ngành đã kết thúc; vui lòng đăng nhập lại",
}

EN: Final[dict[str, str]] = {
    "sso_sign_in": "Sign in with your education-sector account",
    "sso_or": "or with a smart-school account",
    "sso_failed": "Signing in through the sector's account did not succeed; please try again",
    "sso_refused": "Your sector account has no access to this system: {reason}",
    "sso_unavailable": "The sector's identity platform cannot be reached; please try later",
    "sso_ended": "Your sector sign-in has ended; please sign in again",
}
