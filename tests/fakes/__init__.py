"""Fakes of the outside services Sohbet talks to, as real servers on loopback (never mocks of our code)."""
