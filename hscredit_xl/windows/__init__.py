"""Templates of the install and uninstall scripts that `hscredit-xl bundle` puts into the Windows bundle."""
