@echo off
rem hscredit-xl ${VERSION}: removes what the install script put on this PC (made by `hscredit-xl bundle`).
rem Encoding: UTF-8 without BOM, CRLF; every line up to `chcp 65001` is ASCII (see install.cmd).
setlocal EnableExtensions DisableDelayedExpansion
for /f "tokens=2 delims=:" %%c in ('chcp') do set "OLDCP=%%c"
chcp 65001 >nul
title 黄石信用考评 Excel 加载项 卸载

set "APP=%LOCALAPPDATA%\${APP_DIR}"
set "ADDIN_FILE=%APPDATA%\Microsoft\Excel\XLSTART\${ADDIN}"
set "CONF=%USERPROFILE%\.xlwings\xlwings.conf"
set "RC=1"

echo ================================================================
echo   黄石信用考评 Excel 加载项 hscredit-xl：卸载
echo ================================================================
echo.
if not defined LOCALAPPDATA goto :no_profile
if not defined APPDATA goto :no_profile

:excel_check
tasklist /fi "imagename eq EXCEL.EXE" /nh 2>nul | find /i "EXCEL.EXE" >nul
if errorlevel 1 goto :remove_addin
echo Excel 正在运行。请保存工作、关闭所有 Excel 窗口，然后按任意键继续……
pause >nul
goto :excel_check

:remove_addin
if not exist "%ADDIN_FILE%" goto :no_addin
del /f /q "%ADDIN_FILE%"
if exist "%ADDIN_FILE%" goto :busy
echo 已删除加载项：%ADDIN_FILE%
goto :remove_app
:no_addin
echo 加载项不存在（可能已删除）：%ADDIN_FILE%

:remove_app
if not exist "%APP%" goto :no_app
rmdir /s /q "%APP%"
if exist "%APP%" goto :busy
echo 已删除本工具的 Python 环境：%APP%
goto :done
:no_app
echo 本工具的 Python 环境不存在（可能已删除）：%APP%

:done
echo.
echo 卸载完成。Excel 中不再有「信用考评」选项卡和 HS_ 函数；已有的 .xlsx 工作簿不受影响。
echo 说明：%CONF% 中 INTERPRETER_WIN 一行指向已删除的 Python，没有删除它：
echo       本机若没有其他 xlwings 加载项，可以删除这个文件；有的话，请让 IT 人员改这一行。
echo       Python 本身由 IT 人员在「设置」→「应用」中卸载（其他程序可能也在用它）。
set "RC=0"
goto :end

:busy
echo 有文件正在使用，没能删除。请关闭所有 Excel 窗口后再次双击 卸载.cmd。
goto :end

:no_profile
echo 找不到用户文件夹的环境变量 LOCALAPPDATA 或 APPDATA，无法卸载。请联系 IT 人员。
goto :end

:end
echo.
echo 按任意键关闭本窗口。
pause >nul
if defined OLDCP chcp %OLDCP: =% >nul 2>&1
exit /b %RC%
