/* SPDX-License-Identifier: MIT */
/* Built as an empty "libs3.so.2": put first on LD_LIBRARY_PATH, it shows
 * how the s3:// store fails when the library it loads lacks libs3's
 * functions. */
int osi_fake_libs3(void);

int osi_fake_libs3(void)
{
    return 0;
}
