//go:build !unix

package sqlitestore_test

import "time"

func processCPU() time.Duration { return 0 }
