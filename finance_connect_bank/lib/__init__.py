"""Pure-Python helpers of finance_connect_bank: no ORM import here."""
