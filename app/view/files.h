/* files.h — the list of image files moevk-view steps through (command line,
 * folders, drag and drop). */
#ifndef MOEVK_VIEW_FILES_H
#define MOEVK_VIEW_FILES_H

typedef struct view_files {
    char **paths;  // [n] owned
    int n, cap;
    int cur;       // index shown, -1 before the first
} view_files;

/* 1 if the name has an image extension we try to decode. */
int view_is_image_name(const char *path);
/* 1 if path is a directory. */
int view_is_dir(const char *path);
/* Adds a file, or every image in a folder (sorted by name). Returns the index
 * of the first added entry, or -1 if nothing was added. */
int view_files_add(view_files *f, const char *path);
void view_files_free(view_files *f);

#endif
