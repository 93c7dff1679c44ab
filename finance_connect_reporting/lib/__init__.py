"""Pure-Python helpers of finance_connect_reporting: no ORM import here."""
