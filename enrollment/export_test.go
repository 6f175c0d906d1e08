package enrollment

// StatusQuery is the status lookup's SQL, for the test of its plan.
const StatusQuery = statusQuery
