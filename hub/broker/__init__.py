"""The district's Mosquitto: its configuration, its accounts (the dynamic security
plugin) and its certificates. ``smartschool broker init`` writes a broker setup;
``smartschool devices add/rotate/decommission`` manage device accounts in it."""
