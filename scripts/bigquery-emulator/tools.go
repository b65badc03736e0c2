//go:build tools

// Package tools names the emulator so that go.mod pins it; scripts/bigquery-emulator-local
// builds its command.
package tools

import _ "github.com/goccy/bigquery-emulator/cmd/bigquery-emulator"
