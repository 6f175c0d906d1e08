package enrollment

// Labels are the short names pages show for levels and statuses. They live
// here, beside the types, so that every page (server-rendered, or the
// parents' scripts through the labels the web package generates from
// them) says the same words.

// NameEN is the level's English name.
func (l Level) NameEN() string {
	switch l {
	case LevelMG3:
		return "Kindergarten, age 3"
	case LevelMG4:
		return "Kindergarten, age 4"
	case LevelMG5:
		return "Kindergarten, age 5"
	case LevelLop1:
		return "Grade 1"
	case LevelLop6:
		return "Grade 6"
	}
	return string(l)
}

// Statuses lists every status in the order of an application's life, the
// order lists and dashboards show them in.
var Statuses = []Status{
	StatusQueued, StatusReceived, StatusPendingVerification, StatusReturned, StatusAccepted,
	StatusPlaced, StatusUnplaced, StatusConfirmed, StatusDeclined, StatusVoided, StatusDuplicate, StatusNotStored,
}

var statusLabel = map[Status][2]string{
	StatusQueued:              {"Đang chờ lưu", "Queued"},
	StatusReceived:            {"Đã lưu, chờ duyệt", "Received"},
	StatusPendingVerification: {"Chờ đối chiếu dân cư", "Pending verification"},
	StatusReturned:            {"Trả lại", "Returned"},
	StatusAccepted:            {"Đã duyệt", "Accepted"},
	StatusPlaced:              {"Có kết quả", "Placed"},
	StatusUnplaced:            {"Chưa xếp chỗ", "Unplaced"},
	StatusConfirmed:           {"Đã nhập học", "Confirmed"},
	StatusDeclined:            {"Không nhập học", "Declined"},
	StatusVoided:              {"Đã hủy", "Voided"},
	StatusDuplicate:           {"Trùng hồ sơ", "Duplicate"},
	StatusNotStored:           {"Không lưu được", "Not stored"},
}

// Label returns the status's short name, for a badge or a column, in
// Vietnamese and English; Text is the sentence a parent reads.
func (st Status) Label() (vi, en string) {
	if l, ok := statusLabel[st]; ok {
		return l[0], l[1]
	}
	return string(st), string(st)
}

// Label returns the category's name as the city's online system prints it
// (ĐT1–ĐT4), and what it means in English.
func (c ResidenceCategory) Label() (vi, en string) {
	switch c {
	case DT1:
		return "ĐT1", "permanent and current residence in the catchment"
	case DT2:
		return "ĐT2", "permanent residence only"
	case DT3:
		return "ĐT3", "current residence only"
	case DT4:
		return "ĐT4", "neither residence"
	}
	return string(c), string(c)
}
