"""Pure-Python helpers of finance_connect: no ORM import here."""
