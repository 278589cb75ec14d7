package health

// Tuning values the external tests check their results against; they are
// not part of the API.
const (
	KeptAttempts = keptAttempts
	ScreenLines  = screenLines
)
