//go:build race

package sqlite

// raceEnabled: the race detector instruments the transpiled SQLite engine too
// and slows it roughly twentyfold, so timing bounds only apply without it.
const raceEnabled = true
