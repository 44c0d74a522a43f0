"""Attendance: the pure day rule engine, the school calendar, reports and corrections."""
