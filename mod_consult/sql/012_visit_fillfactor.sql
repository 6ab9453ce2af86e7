-- Every answer step rewrites its visit row (answers, nav, rev).  With full pages the new version
-- goes to another page and every index gets an entry (measured: 38% of visit updates were not
-- HOT); room on the page keeps the step's update in place and out of the indexes.
ALTER TABLE consult.visits SET (fillfactor = 70);
