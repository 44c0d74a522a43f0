"""Hardware a test cannot have: the relay, the light and beeper, real card readers
(evdev, serial). Each sits behind a small interface with a stand-in beside it."""
