"""Each school's weekly timetable: its spreadsheet, validated, and the lessons it stores."""
