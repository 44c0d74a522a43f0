"""The foundation every part imports: process settings, MQTT connection helpers and the
one strict config base. It imports no other package of this repository."""
