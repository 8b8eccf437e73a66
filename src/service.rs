//! Service: the one API that CLI, pages and JSON API call. (Stub; being written.)
