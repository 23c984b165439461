package auditsql

import (
	"slices"
	"strings"
	"testing"
)

func TestRowRuns(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{0, nil},
		{1, []int{1}},
		{3, []int{2, 1}},
		{8, []int{8}},
		{200, []int{128, 64, 8}},
		{300, []int{128, 128, 32, 8, 4}},
	} {
		got := rowRuns(tc.n)
		if !slices.Equal(got, tc.want) {
			t.Errorf("rowRuns(%d) = %v, want %v", tc.n, got, tc.want)
		}
		for _, r := range got {
			if insertRecords[r] == "" || insertResources[r] == "" {
				t.Errorf("no statement for a run of %d", r)
			}
		}
	}
	if got := strings.Count(insertRecords[4], "?"); got != 4*13 {
		t.Errorf("insertRecords[4] has %d placeholders", got)
	}
	if len(insertRecords) != 8 {
		t.Errorf("%d record statements, want 8", len(insertRecords))
	}
}
