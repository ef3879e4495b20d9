@echo off
rem hscredit-xl ${VERSION}: installs the Excel add-in from this folder alone, no network (made by `hscredit-xl bundle`).
rem Encoding: UTF-8 without BOM, CRLF. cmd decodes each line in the console's code page when it reads it, so
rem every line up to `chcp 65001` is ASCII; from there on the Chinese lines are read as UTF-8 on any Windows.
setlocal EnableExtensions DisableDelayedExpansion
for /f "tokens=2 delims=:" %%c in ('chcp') do set "OLDCP=%%c"
chcp 65001 >nul
title 黄石信用考评 Excel 加载项 安装

set "WHEELS=%~dp0${WHEELS_DIR}"
set "APP=%LOCALAPPDATA%\${APP_DIR}"
set "VENV=%LOCALAPPDATA%\${APP_DIR}\venv"
set "ADDIN_FILE=%APPDATA%\Microsoft\Excel\XLSTART\${ADDIN}"
set "RC=1"
rem pip reads this bundle only: no index, no pip settings of the user or the machine
for /f "delims==" %%v in ('set PIP_ 2^>nul') do set "%%v="
set "PIP_CONFIG_FILE=nul"
set "PYTHONHOME="
set "PYTHONPATH="

echo ================================================================
echo   黄石信用考评 Excel 加载项 hscredit-xl ${VERSION}：安装
echo   不联网：所需的一切都在本文件夹中。
echo ================================================================
echo.

if not defined LOCALAPPDATA goto :no_profile
if not defined APPDATA goto :no_profile
if not exist "%WHEELS%\${PROJECT_WHEEL}" goto :not_extracted

echo [1/4] 查找 Python（64 位，版本 ${PYTHON_LIST}）……
set "PYTAG="
for %%V in (${PYTHON_TAGS}) do if not defined PYTAG (py -V:%%V -c "import struct, sys; sys.exit(struct.calcsize('P') != 8)" >nul 2>&1 && set "PYTAG=%%V")
if not defined PYTAG goto :no_python
echo       找到 Python %PYTAG%（64 位）。
echo.

echo [2/4] 准备本工具专用的 Python 环境：%VENV%
if not exist "%VENV%\Scripts\python.exe" goto :make_venv
"%VENV%\Scripts\python.exe" -c "import sys" >nul 2>&1
if not errorlevel 1 goto :venv_ok
echo       原有的环境已不能使用（它的 Python 可能已被卸载），删除后重新创建。
rmdir /s /q "%VENV%"
:make_venv
py -V:%PYTAG% -m venv "%VENV%"
if errorlevel 1 goto :venv_failed
echo       已创建。
goto :install
:venv_ok
echo       已存在，继续使用（重复运行本程序不会有影响）。
:install
echo.

echo [3/4] 从本文件夹的 ${WHEELS_DIR} 安装 hscredit-xl 及其依赖（xlwings、pywin32 等），不联网……
"%VENV%\Scripts\python.exe" -m pip install --no-index --find-links "%WHEELS%" --only-binary=:all: --upgrade --disable-pip-version-check --no-warn-script-location "${REQUIREMENT}"
if errorlevel 1 goto :pip_failed
echo       已安装。
echo.

echo [4/4] 安装 Excel 加载项……
:excel_check
tasklist /fi "imagename eq EXCEL.EXE" /nh 2>nul | find /i "EXCEL.EXE" >nul
if errorlevel 1 goto :addin
echo       Excel 正在运行。请保存工作、关闭所有 Excel 窗口，然后按任意键继续……
pause >nul
goto :excel_check
:addin
"%VENV%\Scripts\hscredit-xl.exe" addin install
if errorlevel 1 goto :addin_failed

echo.
echo ================================================================
echo   安装完成。本程序做了这些事：
echo   · 在 %VENV% 建立了本工具专用的 Python 环境（Python %PYTAG%）并装入 hscredit-xl ${VERSION}；
echo   · 把加载项放进 Excel 启动文件夹：%ADDIN_FILE%
echo   · 在 %USERPROFILE%\.xlwings\xlwings.conf 中写明加载项使用的 Python。
echo.
echo   检查：打开 Excel，功能区应有「信用考评」选项卡；在空白单元格输入
echo       =HS_RANKSCORE(5,{9,5,1},10,2)
echo   回车后应显示 8（第一次计算要等几秒）。
echo   删除：关闭 Excel 后双击本文件夹中的 卸载.cmd。
echo ================================================================
set "RC=0"
goto :end

:no_profile
echo 找不到用户文件夹的环境变量 LOCALAPPDATA 或 APPDATA，无法安装。请联系 IT 人员。
goto :end

:not_extracted
echo 没有找到安装文件：%WHEELS%\${PROJECT_WHEEL}
echo 请先在压缩包上单击右键，选「全部解压缩」，再双击解压出来的文件夹中的 安装.cmd。
goto :end

:no_python
echo 没有找到可用的 Python。需要 Python ${PYTHON_LIST} 之一的 64 位版本，请 IT 人员安装
echo （python.org 下载页上的 Windows installer 64-bit；安装时保留默认勾选的 py launcher）。
echo 本机的 py -3 找到的是：
py -3 -c "import platform, sys; print(sys.version.split()[0], platform.architecture()[0])" 2>nul || echo     （没有 Python 启动器 py：本机还没有安装 Python）
goto :end

:venv_failed
echo 创建 Python 环境失败（见上面的英文提示）。请把本窗口截图发给 IT 人员。
goto :end

:pip_failed
echo 从本文件夹安装失败（见上面的英文提示）。安装包可能不完整，请重新解压；仍不行请把本窗口截图发给 IT 人员。
goto :end

:addin_failed
echo 加载项安装或检查未通过，见上面标为「未通过」的各项。处理后可再次双击 安装.cmd。
goto :end

:end
echo.
if "%RC%"=="0" (echo 按任意键关闭本窗口。) else (echo 安装没有完成。按任意键关闭本窗口。)
pause >nul
if defined OLDCP chcp %OLDCP: =% >nul 2>&1
exit /b %RC%
